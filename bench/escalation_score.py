#!/usr/bin/env python3
"""Scores privilege-escalation answers on fixtures/iam-escalation against its
answers.json: precision and recall over principals, and each technique's result.

  python3 bench/escalation_score.py CUSTODY_BINARY [--via blast-radius]

Ingests the fixture into a temporary database, then asks custody which
principals can reach full control of the account: `custody escalations`
(default), or one `custody blast-radius <arn>` per principal (works with
builds that predate `escalations`, for before/after figures).
"""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "..", "fixtures", "iam-escalation")


def main():
    binary = sys.argv[1]
    via = sys.argv[3] if len(sys.argv) > 3 and sys.argv[2] == "--via" else "escalations"
    answers = json.load(open(os.path.join(FIXTURE, "answers.json")))
    acct = answers["account"]
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, CUSTODY_HOME=tmp)
        db = os.path.join(tmp, "e.db")
        run = lambda *a: subprocess.run([binary, "-q", "--db", db, *a], env=env, capture_output=True, text=True)
        r = run("ingest", os.path.join(FIXTURE, acct))
        if r.returncode != 0:
            sys.exit(r.stderr)
        found = {}
        if via == "escalations":
            out = json.loads(run("escalations", "--format", "json").stdout)
            for e in out["escalating"]:
                found[e["name"]] = e
        else:
            names = list(answers["escalates"]) + list(answers["does_not"])
            for n in names:
                kind = "role" if n.endswith("-role") or n in ("esc-attach-role-policy", "nm-attach-role-policy") else "user"
                r = run("blast-radius", f"arn:aws:iam::{acct}:{kind}/{n}", "--format", "json")
                if r.returncode != 0:
                    continue
                out = json.loads(r.stdout)
                if any(p["kind"] == "account_administrator" for p in out["principals"]):
                    found[n] = {"techniques": [p["how"] for p in out["principals"]], "conditional": False, "potential": None}
    pos = set(answers["escalates"])
    neg = set(answers["does_not"])
    pred = set(found) - set(answers["administrators"])
    tp, fp, fn = pred & pos, pred & neg, pos - pred
    print(f"{'principal':45} {'expected':10} {'custody':10} technique")
    for n in sorted(pos | neg):
        exp = "escalates" if n in pos else "no"
        got = "escalates" if n in pred else "no"
        mark = "" if (n in pos) == (n in pred) else "  <-- wrong"
        extra = ""
        if n in found and found[n].get("potential"):
            extra = " (potential)"
        elif n in found and found[n].get("conditional"):
            extra = " (conditional)"
        t = (answers["escalates"].get(n) or {}).get("technique") or (answers["does_not"].get(n) or {}).get("near_miss_of") or ""
        print(f"{n:45} {exp:10} {got + extra:10} {t}{mark}")
    precision = len(tp) / len(pred) if pred else 1.0
    recall = len(tp) / len(pos)
    print(f"\nprecision {precision:.3f} ({len(tp)}/{len(pred)})  recall {recall:.3f} ({len(tp)}/{len(pos)})")
    print(f"false alarms: {sorted(fp)}\nmissed: {sorted(fn)}")


main()
