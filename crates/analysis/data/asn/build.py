#!/usr/bin/env python3
"""Builds asn-ipv4.bin.gz from the @ip-location-db/asn npm package.

    npm pack @ip-location-db/asn && tar xzf ip-location-db-asn-*.tgz
    python3 build.py package/asn-ipv4.csv

Input rows: first address, last address, AS number, organisation. Output
(gzipped): b"CUSTODY-ASN4\\n", the number of ranges as a LEB128 varint, then
three columns of varints, one value per range in address order: the gap
from the end of the previous range (or from 0), the range's size minus one,
its AS number. Adjacent ranges of one AS are merged; organisation names are
left out (custody shows `AS<n>`).
"""
import csv, gzip, ipaddress, struct, sys

rows = []
with open(sys.argv[1], newline="") as f:
    for first, last, asn, *_ in csv.reader(f):
        rows.append((int(ipaddress.IPv4Address(first)), int(ipaddress.IPv4Address(last)), int(asn)))
rows.sort()
merged = []
for a, b, n in rows:
    if merged and merged[-1][2] == n and merged[-1][1] + 1 == a:
        merged[-1][1] = b
    elif merged and a <= merged[-1][1]:
        continue  # overlapping: the first kept
    else:
        merged.append([a, b, n])
def varint(n):
    b = bytearray()
    while True:
        x = n & 0x7F
        n >>= 7
        b.append(x | (0x80 if n else 0))
        if not n:
            return b

out = bytearray(b"CUSTODY-ASN4\n")
out += varint(len(merged))
prev = 0
gaps, sizes, asns = bytearray(), bytearray(), bytearray()
for a, b, n in merged:
    gaps += varint(a - prev)
    sizes += varint(b - a)
    asns += varint(n)
    prev = b + 1
out += gaps + sizes + asns
with gzip.GzipFile("asn-ipv4.bin.gz", "wb", compresslevel=9, mtime=0) as g:
    g.write(out)
print(f"{len(rows)} rows, {len(merged)} ranges, {len(out)} bytes before gzip")
