"""Drives custody's MCP server with the official Python MCP SDK, as an AI
assistant's client would: initialise, list tools, call them. Prints one JSON
object.

Usage: client.py stdio CUSTODY_BINARY DB ACCESS_KEY_ID
       client.py http URL TOKEN ACCESS_KEY_ID   (TOKEN "-": send none)
"""
import asyncio
import contextlib
import json
import os
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import create_mcp_http_client, streamable_http_client


def body(result):
    return json.loads(result.content[0].text)


@contextlib.asynccontextmanager
async def connect(mode, a, b):
    if mode == "stdio":
        # The server inherits this environment (CUSTODY_HOME: the test's key folder).
        server = StdioServerParameters(command=a, args=["--db", b, "--quiet", "mcp"], env=dict(os.environ))
        async with stdio_client(server) as (read, write):
            yield read, write
    else:
        headers = {} if b == "-" else {"Authorization": "Bearer " + b}
        async with create_mcp_http_client(headers=headers) as http:
            async with streamable_http_client(a, http_client=http) as streams:
                yield streams[0], streams[1]


async def main(mode, a, b, key):
    async with connect(mode, a, b) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            tools = await session.list_tools()
            blast = await session.call_tool("blast_radius", {"reference": key})
            query = await session.call_tool("run_query", {
                "query": "MATCH (k:Credential)-[:AUTHENTICATES_AS]->(p:Principal)-[:OWNED_BY]->(h:Human) "
                         "WHERE k.key = $k RETURN p.key AS principal, h.key AS owner",
                "params": {"k": "aws-access-key:" + key},
            })
            write_attempt = await session.call_tool("run_query", {"query": "MATCH (n:Credential) DETACH DELETE n"})
            surfaces = await session.call_tool("ask", {"name": "surfaces", "params": {"credential": "aws-access-key:" + key}})
            identity = await session.call_tool("get_identity", {"reference": key})
            findings = await session.call_tool("list_findings", {"identity": key, "severity": "critical"})
            usage = await session.call_tool("usage_profile", {"reference": key})
            alerts = await session.call_tool("list_alerts", {"since": "2000-01-01", "severity": "high"})
            stale = await session.call_tool("ask", {"name": "stale-keys", "params": {"before": "2026-08-03"}})
            print(json.dumps({
                "server": init.server_info.name,
                "tools": sorted(t.name for t in tools.tools),
                "blast_radius": body(blast),
                "query": body(query),
                "write": body(write_attempt),
                "surfaces": body(surfaces),
                "identity": body(identity),
                "findings": body(findings),
                "usage": body(usage),
                "alerts": body(alerts),
                "stale": body(stale),
            }))


asyncio.run(main(*sys.argv[1:]))
