#!/usr/bin/env python3
"""Writes labels.toml: the hand-labelled corpus of real-shaped secrets and
look-alikes that crates/scan/tests/corpus.rs scores per rule.

Every value is fake, generated from a fixed seed in the shape of the real
credential (alphabet, length, prefix, and the CRC-32 checksum GitHub and npm
tokens carry), so the corpus is stable and holds nothing live. Each case is a
file as it would be found (path decides structured readers), with the findings
a reviewer expects as "rule@line". Anything else found is a false positive;
anything expected and not found is a false negative.

Run: python3 crates/scan/tests/corpus/generate.py > crates/scan/tests/corpus/labels.toml
"""
import base64
import glob
import os
import tomllib
import json
import random
import string
import zlib

R = random.Random(20261123)
B62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
ALNUM = string.ascii_letters + string.digits
B32 = string.ascii_uppercase + "234567"


def rnd(n, alphabet=ALNUM):
    return "".join(R.choice(alphabet) for _ in range(n))


def gh(prefix):
    body = rnd(30)
    n = zlib.crc32(body.encode())
    digits = ""
    for _ in range(6):
        digits = B62[n % 62] + digits
        n //= 62
    return f"{prefix}_{body}{digits}"


def akia(prefix="AKIA"):
    return prefix + rnd(16, B32)


def aws_secret():
    return rnd(40, ALNUM + "/+")


def b64(s):
    return base64.b64encode(s.encode()).decode()


def pem(kind):
    # A real key's body: DER (a SEQUENCE with a two-byte length) or, for
    # OpenSSH, the `openssh-key-v1` blob with cipher `none`.
    if kind == "OPENSSH ":
        blob = b"openssh-key-v1\0\0\0\0\4none\0\0\0\4none\0\0\0\0\0\0\0\1" + bytes(R.randrange(256) for _ in range(360))
    else:
        blob = bytes([0x30, 0x82, 0x04, 0xa4]) + bytes(R.randrange(256) for _ in range(450))
    text = base64.b64encode(blob).decode()
    body = "\n".join(text[i:i + 64] for i in range(0, len(text), 64))
    return f"-----BEGIN {kind}PRIVATE KEY-----\n{body}\n-----END {kind}PRIVATE KEY-----"


def b64url(obj):
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


cases = []


def case(path, text, expect, note):
    cases.append((path, text, expect, note))


# ---- true positives -------------------------------------------------------
k, s = akia(), aws_secret()
case("services/billing/.env",
     f"# billing\nAWS_ACCESS_KEY_ID={k}\nAWS_SECRET_ACCESS_KEY={s}\nAWS_REGION=eu-west-1\n",
     ["aws-access-key-id@2", "aws-secret-access-key@3"], "dotenv pair")
k, s = akia(), aws_secret()
case("scripts/upload.py",
     f'import boto3\n\nsession = boto3.Session(\n    aws_access_key_id="{k}",\n    aws_secret_access_key="{s}",\n)\n',
     ["aws-access-key-id@4", "aws-secret-access-key@5"], "boto3 literal")
k = akia("ASIA")
case("notes/incident-4411.md",
     f"The leaked session key was `{k}`; it expired after an hour.\n",
     ["aws-access-key-id@1"], "temporary key id in prose")
k, s = akia(), aws_secret()
case("home/dev/.aws/credentials",
     f"[default]\nregion = us-east-1\n\n[deploy]\naws_access_key_id = {k}\n# rotated 2025-04\naws_secret_access_key = {s}\n",
     ["aws-access-key-id@5", "aws-secret-access-key@7"], "AWS CLI credentials file")
case("deploy/publish.sh", f"#!/bin/sh\nexport GITHUB_TOKEN={gh('ghp')}\ngh release create v1.2.0\n",
     ["github-token@2"], "classic PAT in a script")
case("home/dev/.config/hub", f"github.com:\n- user: dana\n  oauth_token: {gh('gho')}\n  protocol: https\n",
     ["github-oauth-token@3"], "hub OAuth token")
case("ci/logs/build-8812.txt", f"2026-01-04T10:00:01Z fetching with {gh('ghs')}\n",
     ["github-app-installation-token@1"], "installation token in a CI log")
case("home/dev/.git-credentials",
     f"https://dana:github_pat_{rnd(22)}_{rnd(59)}@github.com\n",
     ["github-fine-grained-pat@1"], "fine-grained PAT in git credentials")
case(".gitlab-ci.yml", f"variables:\n  RELEASE_TOKEN: glpat-{rnd(20, ALNUM + '_-')}\n",
     ["gitlab-pat@2"], "GitLab PAT in CI variables")
case("bots/alerts.yaml", f"slack:\n  bot_token: xoxb-{rnd(11, string.digits)}-{rnd(13, string.digits)}-{rnd(24)}\n",
     ["slack-token@2"], "Slack bot token")
case("bots/notify.py",
     f'WEBHOOK = "https://hooks.slack.com/services/T{rnd(10, string.ascii_uppercase + string.digits)}/B{rnd(10, string.ascii_uppercase + string.digits)}/{rnd(24)}"\n',
     ["slack-webhook@1"], "Slack webhook")
case("config/initializers/stripe.rb", f"Stripe.api_key = 'sk_live_{rnd(99)}'\n",
     ["stripe-live-key@1"], "Stripe live key")
case("notebooks/eval.ipynb",
     '{"cells": [{"cell_type": "code", "source": ["import os\\n", "os.environ[\\"OPENAI_API_KEY\\"] = \\"sk-proj-'
     + rnd(40, ALNUM + "_-") + "T3BlbkFJ" + rnd(40, ALNUM + "_-") + '\\"\\n"]}]}\n',
     ["openai-api-key@1"], "OpenAI key in a notebook")
case("agents/.env", f"ANTHROPIC_API_KEY=sk-ant-api03-{rnd(93, ALNUM + '_-')}AA\n",
     ["anthropic-api-key@1"], "Anthropic key")
case("android/app/google-services.json",
     '{\n  "client": [{\n    "api_key": [{"current_key": "AIza' + rnd(35, ALNUM + "_-") + '"}]\n  }]\n}\n',
     ["google-api-key@3"], "Google API key in a Firebase config")
case("infra/tls/server.key", pem("RSA ") + "\n", ["private-key-rsa@1"], "PEM RSA key")
case("home/dev/.ssh/id_ed25519", pem("OPENSSH ") + "\n", ["private-key-openssh@1"], "OpenSSH key")
case("src/Api/appsettings.json",
     '{\n  "Storage": "DefaultEndpointsProtocol=https;AccountName=corpfiles;AccountKey=' + rnd(86, ALNUM + "+/") + '==;EndpointSuffix=core.windows.net"\n}\n',
     ["azure-storage-connection-string@2"], "Azure storage connection string")
case("infra/azure/terraform.tfvars",
     f'tenant_id     = "6f1c2a8e-0b4d-4c1e-9a7f-2d3b4c5d6e7f"\nclient_secret = "{rnd(3)}8Q~{rnd(34, ALNUM + "_~.-")}"\n',
     ["azure-client-secret@2"], "Entra client secret")
jwt = ("eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0." + b64url({"sub": "svc-replay", "iss": "https://idp.corp.example", "exp": 1893456000, "jti": rnd(16)})
       + "." + rnd(86, ALNUM + "_-"))
case("docs/runbooks/replay.sh", f"curl -H 'Authorization: Bearer {jwt}' https://api.corp.example/v1/replay\n",
     ["jwt@1"], "bearer JWT in a runbook")
case("web/.npmrc", f"registry=https://registry.npmjs.org/\n//registry.npmjs.org/:_authToken={gh('npm')}\n",
     ["npm-token@2"], "npm token")
case("home/dev/.pypirc",
     f"[distutils]\nindex-servers = pypi\n\n[pypi]\nusername = __token__\npassword = pypi-AgEIcHlwaS5vcmc{rnd(70, ALNUM + '_-')}\n",
     ["pypi-token@6"], "PyPI token")
case("scripts/okta_users.sh", f"curl -H \"Authorization: SSWS 00{rnd(40, ALNUM + '_-')}\" https://corp.okta.com/api/v1/users\n",
     ["okta-api-token@1"], "Okta SSWS token")
case("docker-compose.yml",
     f"services:\n  api:\n    environment:\n      DATABASE_URL: postgres://api:{rnd(18)}@db:5432/api\n",
     ["database-url-password@4"], "database URL password")
case("config/settings.yaml", f"smtp:\n  host: smtp.corp.example\n  password: \"{rnd(20, ALNUM + '!#%')}\"\n",
     ["generic-secret-assignment@3"], "YAML password")
case("web/src/config.ts", f"export const config = {{\n  apiKey: \"{rnd(32)}\",\n}};\n",
     ["generic-secret-assignment@2"], "TypeScript API key")
kid, ks = akia(), aws_secret()
case("k8s/prod/secret.json",
     '{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "export", "namespace": "data"},\n "data": {\n  "AWS_ACCESS_KEY_ID": "'
     + b64(kid) + '",\n  "AWS_SECRET_ACCESS_KEY": "' + b64(ks) + '",\n  "username": "' + b64("exporter") + '"\n }}\n',
     ["aws-access-key-id@3", "aws-secret-access-key@4"], "Kubernetes Secret, base64")
case("home/dev/Library/Application Support/Claude/claude_desktop_config.json",
     '{"mcpServers": {"github": {"command": "docker", "args": ["run", "-i", "ghcr.io/github/github-mcp-server"],\n  "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "'
     + gh("ghp") + '"}}}}\n',
     ["github-token@2"], "Claude Desktop MCP server token")
case("repo/.vscode/mcp.json",
     '{\n  // remote server\n  "servers": {"search": {"type": "http", "url": "https://mcp.corp.example",\n    "headers": {"Authorization": "Bearer '
     + rnd(40) + '"},},},\n}\n',
     ["named-secret-value@4"], "VS Code MCP header (JSONC), no rule: named value")
case("home/ci/.docker/config.json",
     '{"auths": {"registry.corp.example": {"auth": "' + b64("ci:" + rnd(24)) + '"}}}\n',
     ["named-secret-value@1"], "Docker registry auth")
tk = akia()
case("infra/terraform.tfstate",
     '{\n "version": 4,\n "terraform_version": "1.9.5",\n "resources": [{"mode": "managed", "type": "aws_iam_access_key", "name": "ci",\n  "instances": [{"attributes": {"id": "'
     + tk + '", "secret": "' + aws_secret() + '", "user": "ci"}, "sensitive_attributes": []}]}]\n}\n',
     ["aws-access-key-id@5", "aws-secret-access-key@5"], "Terraform state access key")
case("ops/secretsmanager/export.json",
     '{\n    "ARN": "arn:aws:secretsmanager:us-east-1:111122223333:secret:db-Ab12Cd",\n    "Name": "db",\n    "SecretString": "{\\"username\\":\\"app\\",\\"password\\":\\"'
     + rnd(24) + '\\"}",\n    "VersionStages": ["AWSCURRENT"]\n}\n',
     ["named-secret-value@4"], "Secrets Manager value")

k, s = akia(), aws_secret()
case("Downloads/svc-export_accessKeys.csv",
     f"Access key ID,Secret access key\n{k},{s}\n",
     ["aws-access-key-id@2", "aws-secret-access-key@2"], "the IAM console's key download")
case("services/mailer/.env",
     f"SMTP_HOST=smtp.corp.example\nSMTP_PASSWORD={rnd(16)}\nSENTRY_DSN=\n",
     ["named-secret-value@2"], "unquoted dotenv password")

sa = "export-bot@payments-prod.iam.gserviceaccount.com"
case("ops/keys/payments-prod-3f7c2d.json",
     json.dumps({"type": "service_account", "project_id": "payments-prod", "private_key_id": rnd(40, "0123456789abcdef"),
                 "private_key": pem("") + "\n", "client_email": sa, "client_id": rnd(21, string.digits),
                 "auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": "https://oauth2.googleapis.com/token"},
                indent=2) + "\n",
     ["gcp-service-account-key@5"], "Google Cloud service-account key file")

# ---- look-alikes that are not secrets -------------------------------------
case("k8s/external-secrets/db.yaml",
     "apiVersion: external-secrets.io/v1beta1\nkind: ExternalSecret\nspec:\n  data:\n    - secretKey: password\n      remoteRef:\n        key: prod/payments/db-credentials-v2\n",
     [], "a reference to a vault path")
# Shapes from AWS API examples and SDK data, where the generic rule used to fire.
case("awscli/examples/ssm/list-documents.rst",
     'Output::\n\n    {\n        "NextToken": "eyJOZXh0VG9rZW4iOiBudWxsLCAiYm90b190cnVuY2F0ZV9hbW91bnQiOiAyfQ=="\n    }\n',
     [], "a pagination token")
case("botocore/data/ec2/examples-1.json",
     '{"input": {"ClientToken": "%s-%s-4%s-a%s-%s", "LockToken": "%s"}}\n' % (
         rnd(8, "0123456789abcdef"), rnd(4, "0123456789abcdef"), rnd(3, "0123456789abcdef"),
         rnd(3, "0123456789abcdef"), rnd(12, "0123456789abcdef"), rnd(32, "0123456789abcdef")),
     [], "idempotency and lock tokens")
case("botocore/data/dynamodb/paginators-1.json",
     '{"pagination": {"ListTables": {"input_token": "ExclusiveStartTableName", "output_token": "LastEvaluatedTableName", "limit_key": "Limit"}}}\n',
     [], "paginator token names")
case("samtranslator/policies.json",
     '{"IAMUserChangePassword": "arn:aws:iam::aws:policy/IAMUserChangePassword", "secret": "prod/payments/db"}\n',
     [], "ARN and secret path values")
case("services/mailer/.env.example", "SMTP_PASSWORD=<smtp password>\nAPI_TOKEN=replace-me\n", [], "dotenv template")
case("docs/aws.md",
     "Example:\n\n    aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n    aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n",
     [], "AWS documentation example keys")
case("services/billing/.env.example",
     "AWS_ACCESS_KEY_ID=\nAWS_SECRET_ACCESS_KEY=\nGITHUB_TOKEN=<your token>\nDATABASE_URL=postgres://app:${DB_PASSWORD}@db:5432/app\n",
     [], "template with empty values and references")
case("web/package-lock.json",
     '{\n  "packages": {\n    "node_modules/left-pad": {\n      "version": "1.3.0",\n      "resolved": "https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz",\n      "integrity": "sha512-'
     + rnd(86, ALNUM + "+/") + '=="\n    }\n  }\n}\n',
     [], "lockfile integrity hash")
case("go.sum", "".join(f"github.com/corp/mod{i} v1.{i}.0 h1:{rnd(43, ALNUM + '+/')}=\n" for i in range(5)),
     [], "go.sum hashes")
case("CHANGELOG.md", "".join(f"- {rnd(40, '0123456789abcdef')} fix retries\n" for _ in range(4)),
     [], "commit ids")
case("db/fixtures/users.json",
     "[" + ",".join(f'{{"id": "{rnd(8, "0123456789abcdef")}-{rnd(4, "0123456789abcdef")}-4{rnd(3, "0123456789abcdef")}-a{rnd(3, "0123456789abcdef")}-{rnd(12, "0123456789abcdef")}"}}' for _ in range(3)) + "]\n",
     [], "UUIDs")
case("config/dev.yaml", 'database:\n  password: "changeme"\n  token: "${{ secrets.DEPLOY_TOKEN }}"\n  api_key: "<api-key>"\n',
     [], "placeholders")
case("deploy/publish_test.sh", "export GITHUB_TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n",
     [], "placeholder PAT (checksum fails)")
case("deploy/old.sh", f"export GITHUB_TOKEN=ghp_{rnd(36)}\n",
     [], "random string with a PAT prefix and no valid checksum")
case("config/initializers/stripe_test.rb", f"Stripe.api_key = 'sk_test_{rnd(24)}'\n",
     [], "Stripe test key")
case("web/public/logo.html", f'<img src="data:image/png;base64,{rnd(300, ALNUM + "+/")}">\n',
     [], "inline image")
case("infra/tls/ca.pem",
     "-----BEGIN CERTIFICATE-----\n" + "\n".join(rnd(64, ALNUM + "+/") for _ in range(5)) + "\n-----END CERTIFICATE-----\n",
     [], "certificate")
case("home/dev/.ssh/id_ed25519.pub", f"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{rnd(43, ALNUM + '+/')} dana@laptop\n",
     [], "public key")
case("release/SHA256SUMS", "".join(f"{rnd(64, '0123456789abcdef')}  custody-{a}.tar.gz\n" for a in ["x86_64", "aarch64"]),
     [], "checksums")
case("src/auth/login.ts",
     "export function login(password: string, token?: string) {\n  const apiKey = getApiKey();\n  if (password === confirmPassword) {\n    return token ?? refreshToken(apiKey);\n  }\n}\n",
     [], "code about secrets")
case("web/src/i18n/de.json", '{"password": "Passwort", "token": "Zugangscode", "secret": "Geheimnis"}\n',
     [], "translations")
case("docs/jwt.md",
     "Decode the sample token from jwt.io:\n\n    eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c\n",
     [], "the jwt.io sample token")
case("k8s/prod/config.json",
     '{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "cfg", "namespace": "data"},\n "data": {"region": "' + b64("us-east-1") + '", "username": "' + b64("exporter") + '"}}\n',
     [], "Secret without secret material")
case("repo/.cursor/mcp.json",
     '{"mcpServers": {"github": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-github"],\n  "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "${env:GITHUB_TOKEN}"}}}}\n',
     [], "MCP config referencing the environment")
case("web/.npmrc", "//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n", [], "npmrc reference")
case("src/crypto/hmac_test.go", f'var digest = "{rnd(64, "0123456789abcdef")}" // sha256 of "abc"\n', [], "hash in a test")
case("config/cache.yaml", 'redis:\n  url: "redis://cache:6379/0"\n  password_reset_token_ttl: "3600s"\n', [], "URL without password")

# ---- every rule's examples, in two contexts, and its near misses -----------
# The rules files hold, for each rule, fake values of the real shape and near
# misses (wrong length, bad checksum, placeholders). Each example is planted in
# a plain-text note and in a Python string literal (where a multi-line key is
# `\n`-escaped); each near miss in a note, where it must stay quiet.
RULES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "rules")
GENERIC_RULES = {"generic-secret-assignment"}
for path in sorted(glob.glob(os.path.join(RULES, "*.toml"))):
    with open(path, "rb") as f:
        rules = tomllib.load(f)["rule"]
    for rule in rules:
        rid = rule["id"]
        if rid in GENERIC_RULES:
            continue
        for j, ex in enumerate(rule["examples"]):
            case(f"notes/rules/{rid}-{j}.txt", f"seen in ticket SEC-{R.randrange(1000, 9999)}:\n{ex}\nrotate it.\n",
                 [f"{rid}@2"], f"{rid} example {j} in a note")
            # Formats anchored to a line of their own file (`requirepass`,
            # htpasswd, PuTTY) are not pasted into string literals.
            if rule["pattern"].startswith("(?m)^") or "\\r?\\n" in rule["pattern"]:
                continue
            literal = json.dumps(ex)
            case(f"src/rules/{rid.replace('-', '_')}_{j}.py", f"# fixture\nVALUE = {literal}\n",
                 [f"{rid}@2"], f"{rid} example {j} in a string literal")
        for j, ex in enumerate(rule.get("negative_examples", [])):
            case(f"notes/near-miss/{rid}-{j}.txt", f"looks like {rule['name']}, is not:\n{ex}\n",
                 [], f"{rid} near miss {j}")

print("# Generated by generate.py (seeded; every value is fake). Do not edit by hand.")
print("# Each case: the file as found, and the findings expected as \"rule@line\".\n")
for path, text, expect, note in cases:
    print("[[case]]")
    print(f"note = {json.dumps(note)}")
    print(f"path = {json.dumps(path)}")
    print("expect = [" + ", ".join(f'"{e}"' for e in expect) + "]")
    assert "'''" not in text
    print("text = '''\n" + text + "'''\n")
