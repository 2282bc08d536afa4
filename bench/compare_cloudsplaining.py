#!/usr/bin/env python3
"""Compare `custody audit-policies --format json` with cloudsplaining's
iam-findings JSON for the same authorization-details file.

Policies are matched by kind and name (managed policies) or by the principal
holding them (inline policies: cloudsplaining merges identical inline documents,
so both sides are compared as the union of each principal's inline findings).
Privilege escalation is compared as sets of action combinations, so the two
tools' method names need no mapping. Prints agreement per category and every
disagreement with the reason when it is a known difference.
"""
import json
import sys
from collections import defaultdict

CATS = ["privilege_escalation", "data_exfiltration", "resource_exposure", "infrastructure_modification"]
CS_CATS = {
    "privilege_escalation": "PrivilegeEscalation",
    "data_exfiltration": "DataExfiltration",
    "resource_exposure": "ResourceExposure",
    "infrastructure_modification": "InfrastructureModification",
}
# Read-level actions cloudsplaining adds to infrastructure modification
# ("include-actions" in its default exclusions file).
CS_INCLUDED_READS = {
    "s3:getobject", "ssm:getparameter", "ssm:getparameters", "ssm:getparametersbypath",
    "secretsmanager:getsecretvalue",
}


def combos(findings):
    return {frozenset(a.lower() for a in f["actions"]) for f in findings or []}


def load_custody(path):
    data = json.load(open(path))
    out = defaultdict(lambda: {c: set() for c in CATS})
    techniques = set()
    for p in data["policies"]:
        if p["kind"] == "inline":
            key = ("inline", p["owner"].rsplit("/", 1)[-1])
        else:
            key = (p["kind"], p["name"])
        e = out[key]
        e["privilege_escalation"] |= combos(p["privilege_escalation"])
        for t in p["privilege_escalation"]:
            techniques.add(frozenset(a.lower() for a in t["actions"]))
        for c in CATS[1:]:
            e[c] |= {a.lower() for a in p[c]}
    return out, data.get("seconds")


def load_cloudsplaining(path):
    data = json.load(open(path))
    out = defaultdict(lambda: {c: set() for c in CATS})
    for section, kind in [("customer_managed_policies", "customer-managed"),
                          ("aws_managed_policies", "aws-managed"),
                          ("inline_policies", "inline")]:
        for p in data.get(section, {}).values():
            keys = []
            if kind == "inline":
                for who in ("roles", "users", "groups"):
                    keys += [("inline", n) for n in p.get("AttachedTo", {}).get(who, [])]
            else:
                keys = [(kind, p["PolicyName"])]
            for key in keys:
                e = out[key]
                for c, cs in CS_CATS.items():
                    f = (p.get(cs) or {}).get("findings") or []
                    if c == "privilege_escalation":
                        e[c] |= combos(f)
                    else:
                        e[c] |= {a.lower() for a in f}
    return out


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: compare_cloudsplaining.py CUSTODY.json CLOUDSPLAINING-FINDINGS.json")
    custody, _ = load_custody(sys.argv[1])
    cs = load_cloudsplaining(sys.argv[2])
    # Action combinations each tool knows, to tell "unknown method" from "disagreement".
    sys.path.insert(0, "")
    try:
        from cloudsplaining.shared.constants import PRIVILEGE_ESCALATION_METHODS
        cs_methods = {frozenset(v) for v in PRIVILEGE_ESCALATION_METHODS.values()}
    except ImportError:
        cs_methods = None
    keys = sorted(set(custody) | set(cs))
    total_ok = True
    for c in CATS:
        both = only_custody = only_cs = agree_actions = 0
        diffs = []
        for k in keys:
            a = custody.get(k, {}).get(c, set())
            b = cs.get(k, {}).get(c, set())
            if c == "infrastructure_modification":
                b = b - CS_INCLUDED_READS
            if c == "privilege_escalation" and cs_methods is not None:
                # Compare only the combinations both tools check.
                a = {m for m in a if m in cs_methods}
            if a and b:
                both += 1
            elif a:
                only_custody += 1
            elif b:
                only_cs += 1
            if a == b:
                agree_actions += 1
            else:
                diffs.append((k, sorted(map(str, a - b))[:4], sorted(map(str, b - a))[:4]))
        flagged = both + only_custody + only_cs
        print(f"{c}: {flagged} policies flagged; both {both}, custody only {only_custody}, "
              f"cloudsplaining only {only_cs}; identical findings on {agree_actions}/{len(keys)} policies")
        for k, extra, missing in diffs[:8]:
            total_ok = False
            print(f"    {k[0]} {k[1]}: custody only {extra} · cloudsplaining only {missing}")
    print("AGREE" if total_ok else "DIFFERENCES (see docs/IAM-ANALYSIS.md)")


if __name__ == "__main__":
    main()
