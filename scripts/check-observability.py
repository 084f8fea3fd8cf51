#!/usr/bin/env python3
"""Checks the Grafana dashboard and the Prometheus alert rules in infra/observability/ against
the code: both parse and have the shape their tools load, panel ids are unique and panels do
not overlap, every alert has a severity and a summary, and every metric they query is one
wagate records (the names in core/src/measure.rs), so a renamed metric fails here rather
than in a silent panel. Exits 1 with the problems listed.

    python3 scripts/check-observability.py
"""

import json
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
MEASURE = ROOT / "core/src/measure.rs"
DASHBOARD = ROOT / "infra/observability/grafana-dashboard.json"
ALERTS = ROOT / "infra/observability/alerts.yml"

problems = []


def known_metrics():
    text = MEASURE.read_text()
    names = set(re.findall(r'pub const [A-Z_]+: &str = "(wagate_[a-z_]+)";', text))
    if not names:
        problems.append(f"{MEASURE}: no metric names found")
    return names


def metrics_in(expr):
    out = set()
    for name in re.findall(r"\bwagate_[a-z_]+", expr):
        for suffix in ("_bucket", "_sum", "_count"):
            if name.endswith(suffix):
                name = name[: -len(suffix)]
        out.add(name)
    return out


def check_expr(where, expr, known):
    if not expr or expr.count("(") != expr.count(")"):
        problems.append(f"{where}: unbalanced or empty expression: {expr!r}")
    used = metrics_in(expr)
    if not used:
        problems.append(f"{where}: queries no wagate metric: {expr!r}")
    for name in sorted(used - known):
        problems.append(f"{where}: {name} is not a metric wagate records")


def check_dashboard(known):
    d = json.loads(DASHBOARD.read_text())
    for key in ("uid", "title", "panels", "schemaVersion"):
        if key not in d:
            problems.append(f"dashboard: no {key}")
    ids, cells = set(), set()
    for p in d.get("panels", []):
        where = f"dashboard panel {p.get('id')} ({p.get('title')})"
        if p.get("id") in ids:
            problems.append(f"{where}: id used twice")
        ids.add(p.get("id"))
        g = p.get("gridPos", {})
        if not all(isinstance(g.get(k), int) for k in "xywh") or g["x"] + g["w"] > 24:
            problems.append(f"{where}: bad gridPos {g}")
            continue
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                if (x, y) in cells:
                    problems.append(f"{where}: overlaps another panel at {x},{y}")
                    break
                cells.add((x, y))
        targets = p.get("targets") or []
        if not targets:
            problems.append(f"{where}: no targets")
        for t in targets:
            check_expr(where, t.get("expr", ""), known)
    return len(d.get("panels", []))


def check_alerts(known):
    doc = yaml.safe_load(ALERTS.read_text())
    count = 0
    for group in doc.get("groups", []):
        if not group.get("name") or not group.get("rules"):
            problems.append(f"alerts: a group without a name or rules: {group}")
        for rule in group.get("rules", []):
            count += 1
            where = f"alert {rule.get('alert')}"
            if not rule.get("alert"):
                problems.append(f"alerts: a rule without a name: {rule}")
            if rule.get("labels", {}).get("severity") not in ("critical", "warning", "info"):
                problems.append(f"{where}: severity must be critical, warning or info")
            if not rule.get("annotations", {}).get("summary"):
                problems.append(f"{where}: no summary")
            if "for" in rule and not re.fullmatch(r"\d+[smh]", str(rule["for"])):
                problems.append(f"{where}: bad duration {rule['for']!r}")
            check_expr(where, str(rule.get("expr", "")), known)
    return count


known = known_metrics()
panels = check_dashboard(known)
alerts = check_alerts(known)
if problems:
    print("\n".join(problems), file=sys.stderr)
    sys.exit(1)
print(f"dashboard: {panels} panels, alerts: {alerts} rules, all on metrics wagate records")
