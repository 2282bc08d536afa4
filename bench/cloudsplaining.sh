#!/usr/bin/env bash
# custody audit-policies vs `cloudsplaining scan`, side by side on the same
# `aws iam get-account-authorization-details` files: wall time of each, the
# speed ratio, and whether their findings agree (bench/compare_cloudsplaining.py).
#
#   bash bench/cloudsplaining.sh                 # samples + synthetic accounts
#   bash bench/cloudsplaining.sh FILE.json ...   # your own exports
#
# cloudsplaining is installed here, into a virtualenv under target/ (never by
# the test suite). Environment: CLOUDSPLAINING_VERSION (default 0.9.1),
# PEOPLE (synthetic company size, default 1000), WORK (scratch folder).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${WORK:-$ROOT/target/bench-cloudsplaining}
VENV=${CLOUDSPLAINING_VENV:-$WORK/venv}
VERSION=${CLOUDSPLAINING_VERSION:-0.9.1}
PEOPLE=${PEOPLE:-1000}
mkdir -p "$WORK"

if [ ! -x "$VENV/bin/cloudsplaining" ]; then
    echo "installing cloudsplaining $VERSION into $VENV" >&2
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q "cloudsplaining==$VERSION"
fi
echo "building custody (release)" >&2
(cd "$ROOT" && cargo build --release -q)
CUSTODY=$ROOT/target/release/custody

inputs=("$@")
if [ ${#inputs[@]} -eq 0 ]; then
    SYNTH=$WORK/synth-$PEOPLE
    if [ ! -f "$SYNTH/answers.json" ]; then
        "$CUSTODY" -q synth --people "$PEOPLE" --out "$SYNTH" > /dev/null
    fi
    # One synthetic account, and ten accounts merged into one large export.
    first=$(ls -d "$SYNTH"/aws/*/ | head -1)
    "$VENV/bin/python" - "$SYNTH" "$WORK/merged-10-accounts.json" <<'PY'
import glob, json, sys
files = sorted(glob.glob(sys.argv[1] + "/aws/*/authorization-details.json"))[:10]
out = {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [], "Policies": []}
seen = set()
for f in files:
    d = json.load(open(f))
    for k in ("UserDetailList", "GroupDetailList", "RoleDetailList"):
        out[k] += d[k]
    for p in d["Policies"]:
        if p["Arn"] not in seen:
            seen.add(p["Arn"])
            out["Policies"].append(p)
json.dump(out, open(sys.argv[2], "w"))
PY
    inputs=(
        "$ROOT/../shared/samples/aws-iam/cloudsplaining-test-example_authz_v2.json"
        "$ROOT/../shared/samples/aws-iam/cloudsplaining-test-example-authz-details.json"
        "$ROOT/bench/fixtures/edge-cases-authz.json"
        "${first}authorization-details.json"
        "$WORK/merged-10-accounts.json"
    )
fi

now() { date +%s.%N; }
printf '%-48s %7s %9s %14s %10s %7s  %s\n' FILE ROLES POLICIES CLOUDSPLAINING_S CUSTODY_S RATIO FINDINGS
for f in "${inputs[@]}"; do
    [ -f "$f" ] || { echo "skipping $f: not found" >&2; continue; }
    base=$(basename "$f" .json)
    out=$WORK/out-$base
    rm -rf "$out" && mkdir -p "$out"
    t0=$(now)
    "$VENV/bin/cloudsplaining" scan --input-file "$f" --output "$out" --skip-open-report > "$out/cloudsplaining.log" 2>&1
    t1=$(now)
    "$CUSTODY" --format json audit-policies "$f" > "$out/custody.json"
    t2=$(now)
    findings=$(ls "$out"/iam-findings-*.json | head -1)
    verdict=$("$VENV/bin/python" "$ROOT/bench/compare_cloudsplaining.py" "$out/custody.json" "$findings" | tee "$out/compare.txt" | tail -1)
    read -r roles policies < <("$VENV/bin/python" -c "
import json,sys; d=json.load(open(sys.argv[1])); print(len(d.get('RoleDetailList',[])), len(json.load(open(sys.argv[2]))['policies']))" "$f" "$out/custody.json")
    cs=$(echo "$t1 - $t0" | bc -l); cu=$(echo "$t2 - $t1" | bc -l)
    printf '%-48s %7s %9s %14.2f %10.3f %6.0fx  %s\n' "${base:0:48}" "$roles" "$policies" "$cs" "$cu" "$(echo "$cs / $cu" | bc -l)" "$verdict"
done
echo "per-file details: $WORK/out-*/compare.txt" >&2
