#!/usr/bin/env python3
"""Secret-scanning benchmark: custody against Kingfisher and detect-secrets on the same corpus.

    python3 bench/scan_corpus.py generate DIR [--mb 1024] [--commits 10000]
    python3 bench/scan_corpus.py run DIR --custody target/release/custody \
        [--kingfisher /path/to/venv/bin/kingfisher] \
        [--detect-secrets /path/to/venv/bin/detect-secrets]

`generate` writes DIR/files (mixed source, config and docs files, about --mb
megabytes; words such as token, password and secret are everywhere, as in real
code, so keyword prefilters are not let off easily; one file in ~400 holds a
fake credential) and DIR/history.git (a bare repository with --commits commits
made with `git fast-import`: files edited a line at a time, credentials pasted
and removed again). Everything is seeded and fake.

`run` times each scanner as a child process and prints wall time, CPU time,
MB/s, MB/s per CPU-second and peak RSS (from wait4), then the ratio.
detect-secrets scans files only (it has no git-history mode), so the history
figures are custody's alone.
"""
import argparse
import json
import os
import random
import string
import subprocess
import sys
import time
import zlib

ALNUM = string.ascii_letters + string.digits
B62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
WORDS = ("user account request response token password secret key client server config value "
         "session cache retry timeout handler error result payload header auth login logout refresh "
         "access credential scope tenant region bucket queue event metric trace span").split()


def gh_token(r):
    body = "".join(r.choice(ALNUM) for _ in range(30))
    n = zlib.crc32(body.encode())
    digits = ""
    for _ in range(6):
        digits = B62[n % 62] + digits
        n //= 62
    return f"ghp_{body}{digits}"


def rule_examples():
    """Every format rule's examples (fake, real-shaped) from the rules files."""
    import glob
    import tomllib
    here = os.path.dirname(os.path.abspath(__file__))
    out = []
    for path in sorted(glob.glob(os.path.join(here, "..", "crates", "scan", "rules", "*.toml"))):
        with open(path, "rb") as f:
            for rule in tomllib.load(f)["rule"]:
                if rule["id"] != "generic-secret-assignment":
                    out.extend(rule["examples"])
    return out


EXAMPLES = rule_examples()


def fake_secret(r):
    kind = r.randrange(5)
    if kind == 4:
        # One of the 200-odd credential types the rules know, as its example.
        return r.choice(EXAMPLES) + "\n"
    if kind == 0:
        key = "AKIA" + "".join(r.choice(string.ascii_uppercase + "234567") for _ in range(16))
        sec = "".join(r.choice(ALNUM + "/+") for _ in range(40))
        return f'AWS_ACCESS_KEY_ID = "{key}"\nAWS_SECRET_ACCESS_KEY = "{sec}"\n'
    if kind == 1:
        return f'GITHUB_TOKEN = "{gh_token(r)}"\n'
    if kind == 2:
        return "SLACK = \"xoxb-%s-%s-%s\"\n" % (
            "".join(r.choice(string.digits) for _ in range(11)),
            "".join(r.choice(string.digits) for _ in range(13)),
            "".join(r.choice(ALNUM) for _ in range(24)))
    return 'db_password = "%s"\n' % "".join(r.choice(ALNUM + "!#%") for _ in range(20))


def ident(r):
    return r.choice(WORDS) + "_" + r.choice(WORDS)


def py_block(r):
    a, b = ident(r), ident(r)
    return (f"def {a}(request, {b}=None):\n"
            f"    \"\"\"Returns the {r.choice(WORDS)} for the {r.choice(WORDS)}.\"\"\"\n"
            f"    token = request.headers.get(\"Authorization\", \"\")\n"
            f"    if not token or {b} is None:\n"
            f"        raise ValueError(\"missing {r.choice(WORDS)}\")\n"
            f"    password_hash = hashlib.sha256({b}.encode()).hexdigest()\n"
            f"    return {{\"{r.choice(WORDS)}\": {r.randrange(10**6)}, \"secret_ref\": \"vault:kv/{a}\"}}\n\n")


def js_block(r):
    a = ident(r)
    return (f"export async function {a}(client, opts = {{}}) {{\n"
            f"  const apiKey = process.env.API_KEY ?? opts.apiKey;\n"
            f"  const res = await client.get(`/v1/{r.choice(WORDS)}/${{opts.id}}`, {{ headers: {{ token: apiKey }} }});\n"
            f"  if (res.status !== {r.choice([200, 201, 204])}) throw new Error('{r.choice(WORDS)} failed');\n"
            f"  return res.data.{r.choice(WORDS)};\n}}\n\n")


def go_block(r):
    a = ident(r).title().replace("_", "")
    return (f"func {a}(ctx context.Context, key string) (*{a}Result, error) {{\n"
            f"\tsecret, err := s.store.Get(ctx, key)\n"
            f"\tif err != nil {{\n\t\treturn nil, fmt.Errorf(\"{r.choice(WORDS)}: %w\", err)\n\t}}\n"
            f"\treturn &{a}Result{{Value: secret, TTL: {r.randrange(3600)}}}, nil\n}}\n\n")


def yaml_block(r):
    return (f"- name: {ident(r)}\n  image: registry.corp.example/{r.choice(WORDS)}:{r.randrange(100)}.{r.randrange(10)}\n"
            f"  env:\n    - name: DB_PASSWORD\n      valueFrom:\n        secretKeyRef: {{name: {ident(r)}, key: password}}\n"
            f"    - name: LOG_LEVEL\n      value: info\n")


def json_block(r):
    return json.dumps({"id": "%08x-%04x" % (r.randrange(16**8), r.randrange(16**4)), "name": ident(r),
                       "token_ttl": r.randrange(86400), "scopes": [r.choice(WORDS) for _ in range(3)],
                       "sha256": "%064x" % r.getrandbits(256)}) + ",\n"


def md_block(r):
    return (f"## {ident(r).replace('_', ' ').title()}\n\nSet `API_TOKEN` to the {r.choice(WORDS)} token from the "
            f"vault; never commit the password or the client secret. The {r.choice(WORDS)} rotates every "
            f"{r.randrange(90)} days.\n\n")


KINDS = [(".py", py_block), (".ts", js_block), (".go", go_block), (".yaml", yaml_block),
         (".json", json_block), (".md", md_block)]


def source_file(r, size):
    ext, block = r.choice(KINDS)
    parts, n = [], 0
    while n < size:
        b = block(r)
        parts.append(b)
        n += len(b)
    if r.randrange(400) == 0:
        parts.insert(r.randrange(len(parts) + 1), fake_secret(r))
    return ext, "".join(parts)


def generate_files(root, mb, r):
    target = mb * 1_000_000
    written, i = 0, 0
    # A pool of distinct bodies, re-used with a unique header, keeps generation
    # fast; the scanners do not cache by content.
    pool = [source_file(r, r.randrange(4_000, 60_000)) for _ in range(1500)]
    while written < target:
        ext, body = pool[i % len(pool)]
        d = os.path.join(root, "files", f"svc{i % 97:02d}", r.choice(WORDS))
        os.makedirs(d, exist_ok=True)
        text = f"// file {i} generated for the scan benchmark\n{body}"
        if r.randrange(400) == 0:
            text += fake_secret(r)
        with open(os.path.join(d, f"{ident(r)}_{i}{ext}"), "w") as f:
            f.write(text)
        written += len(text)
        i += 1
    return i, written


def generate_history(root, commits, r):
    repo = os.path.join(root, "history.git")
    subprocess.run(["git", "init", "-q", "--bare", repo], check=True)
    files = {f"src/{ident(r)}_{n}{ext}": body for n, (ext, body) in
             enumerate(source_file(r, r.randrange(2_000, 12_000)) for _ in range(300))}
    names = list(files)
    out = []
    t = 1_700_000_000
    for c in range(commits):
        changes = []
        for _ in range(r.randrange(1, 4)):
            name = r.choice(names)
            lines = files[name].split("\n")
            at = r.randrange(len(lines))
            lines.insert(at, f"# change {c}: {r.choice(WORDS)} {r.choice(WORDS)} {r.randrange(10**6)}")
            if r.randrange(150) == 0:
                lines.insert(at, fake_secret(r).rstrip("\n"))
            files[name] = "\n".join(lines)
            changes.append(name)
        t += r.randrange(60, 7200)
        msg = f"change {c}: {r.choice(WORDS)}"
        out.append(f"commit refs/heads/main\ncommitter Dev {c % 40} <dev{c % 40}@corp.example> {t} +0000\n"
                   f"data {len(msg)}\n{msg}\n")
        for name in changes:
            data = files[name].encode()
            out.append(f"M 100644 inline {name}\ndata {len(data)}\n")
            out.append(data)
            out.append("\n")
    stream = b"".join(x if isinstance(x, bytes) else x.encode() for x in out)
    subprocess.run(["git", "--git-dir", repo, "fast-import", "--quiet"], input=stream, check=True)
    subprocess.run(["git", "--git-dir", repo, "gc", "-q"], check=True)
    return repo


def measure(cmd):
    started = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - started
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024, out, status


def du(path):
    total = 0
    for d, _, fs in os.walk(path):
        for f in fs:
            total += os.path.getsize(os.path.join(d, f))
    return total


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate")
    g.add_argument("dir")
    g.add_argument("--mb", type=int, default=1024)
    g.add_argument("--commits", type=int, default=10_000)
    g.add_argument("--seed", type=int, default=7)
    x = sub.add_parser("run")
    x.add_argument("dir")
    x.add_argument("--custody", required=True)
    x.add_argument("--detect-secrets", dest="ds")
    x.add_argument("--kingfisher", dest="kf")
    a = ap.parse_args()
    if a.cmd == "generate":
        r = random.Random(a.seed)
        os.makedirs(a.dir, exist_ok=True)
        t = time.monotonic()
        n, size = generate_files(a.dir, a.mb, r)
        print(f"files: {n} files, {size / 1e6:.0f} MB in {time.monotonic() - t:.0f}s")
        t = time.monotonic()
        generate_history(a.dir, a.commits, r)
        print(f"history: {a.commits} commits in {time.monotonic() - t:.0f}s")
        return
    files = os.path.join(a.dir, "files")
    repo = os.path.join(a.dir, "history.git")
    size = du(files) / 1e6
    rows = []
    wall, cpu, rss, out, st = measure([a.custody, "--quiet", "--format", "json", "scan", files])
    found = len(json.loads(out)["credentials"]) if st == 0 or st == 256 else "?"
    rows.append(("custody scan (files)", size, wall, cpu, rss, found))
    wall, cpu, rss, out, st = measure([a.custody, "--quiet", "--format", "json", "scan", "--git", repo])
    hist = json.loads(out)
    repo_mb = sum(r_["megabytes"] for r_ in hist["repositories"])
    commits = sum(r_["commits"] for r_ in hist["repositories"])
    blobs = sum(r_["blobs"] for r_ in hist["repositories"])
    rows.append((f"custody scan --git ({commits} commits, {blobs} blobs)", repo_mb, wall, cpu, rss,
                 len(hist["credentials"])))
    if a.kf:
        # No validation (no network), no update check: the scan alone.
        wall, cpu, rss, out, st = measure([a.kf, "scan", files, "--no-validate", "--format", "json",
                                           "--no-update-check", "-j", str(os.cpu_count())])
        try:
            # A JSON envelope, then a summary line.
            report, _ = json.JSONDecoder().raw_decode(out if isinstance(out, str) else out.decode())
            found = len(report["findings"])
        except (ValueError, KeyError, TypeError):
            found = "?"
        rows.append(("kingfisher scan --no-validate", size, wall, cpu, rss, found))
    if a.ds:
        wall, cpu, rss, out, st = measure([a.ds, "scan", "--all-files", files])
        try:
            found = sum(len(v) for v in json.loads(out)["results"].values())
        except (ValueError, KeyError):
            found = "?"
        rows.append(("detect-secrets scan --all-files", size, wall, cpu, rss, found))
    print(f"{'scanner':<52} {'MB':>7} {'wall s':>8} {'cpu s':>8} {'MB/s':>8} {'MB/cpu-s':>9} {'peak RSS MB':>12} {'found':>7}")
    for name, mb, wall, cpu, rss, found in rows:
        print(f"{name:<52} {mb:>7.0f} {wall:>8.1f} {cpu:>8.1f} {mb / wall:>8.1f} {mb / max(cpu, 1e-9):>9.1f} {rss:>12.0f} {found!s:>7}")
    if a.kf:
        c, k = rows[0], next(x for x in rows if x[0].startswith("kingfisher"))
        print(f"custody/kingfisher on the same files: {k[2] / c[2]:.1f}x faster (wall), "
              f"{(c[1] / c[3]) / (k[1] / k[3]):.1f}x per CPU-second")
    if a.ds:
        c, d = rows[0], rows[-1]
        print(f"custody/detect-secrets on the same files: {d[2] / c[2]:.1f}x faster (wall), "
              f"{(c[1] / c[3]) / (d[1] / d[3]):.1f}x per CPU-second")
    print(f"cores: {os.cpu_count()}")


if __name__ == "__main__":
    sys.exit(main())
