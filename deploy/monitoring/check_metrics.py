#!/usr/bin/env python3
"""Checks of the monitoring configuration that promtool and amtool do not make.

  check_metrics.py alerts-tested RULES... --tests TESTS...
      every alert of RULES fires in at least one unit test of TESTS (a non-empty exp_alerts)
  check_metrics.py names-exist --scrape FILE... --used FILE...
      every metric name used in the rule files / Grafana dashboards (FILE.yml / FILE.json) is
      exposed by one of the scrapes (Prometheus text format); prints each missing name and
      where it is used
  check_metrics.py dashboards-query --prometheus URL --dashboards FILE... [--must-have-data FILE...]
      asks a running Prometheus every panel query of the dashboards (Grafana's interval
      variables replaced); fails on any error, and on an empty answer from a dashboard named
      after --must-have-data (each panel of it, at least one of its queries)
"""
import json
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import yaml

# Names Prometheus makes itself rather than reads from a target.
SYNTHETIC = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}
# PromQL words that look like metric names.
PROMQL = {
    "sum", "max", "min", "avg", "count", "by", "without", "rate", "irate", "increase", "time",
    "absent", "histogram_quantile", "topk", "bottomk", "or", "and", "unless", "on", "ignoring",
    "group_left", "group_right", "bool", "offset", "le", "delta", "deriv", "predict_linear",
    "avg_over_time", "max_over_time", "min_over_time", "sum_over_time", "clamp_min", "clamp_max",
    "abs", "vector", "scalar", "label_replace", "inf", "nan", "humanize", "humanizeDuration",
    "humanizePercentage", "value", "labels",
}


def expressions(path):
    """The PromQL expressions of a rule file or a Grafana dashboard."""
    if path.endswith(".json"):
        found = []

        def walk(node):
            if isinstance(node, dict):
                if isinstance(node.get("expr"), str):
                    found.append(node["expr"])
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)

        with open(path, encoding="utf-8") as f:
            walk(json.load(f))
        return found
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    return [r["expr"] for g in doc.get("groups", []) for r in g.get("rules", [])]


def metric_names(expr):
    # Drop label matchers ({...}), strings and durations ([5m]); what remains that looks like
    # an identifier and is not PromQL vocabulary is a metric name.
    expr = re.sub(r"\{[^}]*\}", " ", expr)
    expr = re.sub(r'"[^"]*"', " ", expr)
    expr = re.sub(r"\[[^\]]*\]", " ", expr)
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    names = set()
    for token in re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", expr):
        if token not in PROMQL and not re.fullmatch(r"\d+[smhdwy]", token):
            names.add(token)
    return names


def scraped_names(path):
    names = set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                names.add(re.match(r"[A-Za-z_:][A-Za-z0-9_:]*", line).group(0))
    return names


def names_exist(scrapes, used):
    exposed = set().union(*(scraped_names(s) for s in scrapes))
    where = {}
    for path in used:
        for expr in expressions(path):
            for name in metric_names(expr) - SYNTHETIC:
                where.setdefault(name, set()).add(path)
    missing = sorted(n for n in where if n not in exposed)
    for name in sorted(where):
        state = "missing" if name in missing else "ok"
        print(f"  {state:8} {name}  ({', '.join(sorted(where[name]))})")
    if missing:
        print(f"{len(missing)} of {len(where)} metric names used by rules/dashboards are not in the scrape:")
        for name in missing:
            print(f"  - {name}")
        return 1
    print(f"all {len(where)} metric names used by rules/dashboards are in the scrape")
    return 0


def alerts_tested(rules, tests):
    alerts = set()
    for path in rules:
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
        alerts |= {r["alert"] for g in doc["groups"] for r in g["rules"] if "alert" in r}
    fired = set()
    for path in tests:
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
        for test in doc.get("tests", []):
            for case in test.get("alert_rule_test", []):
                if case.get("exp_alerts"):
                    fired.add(case["alertname"])
    untested = sorted(alerts - fired)
    if untested:
        print("alerts never shown firing by a unit test: " + ", ".join(untested))
        return 1
    print(f"all {len(alerts)} alerts fire in a unit test")
    return 0


def panel_queries(path):
    """(panel title, [expr]) of every panel of a dashboard that has queries."""
    with open(path, encoding="utf-8") as f:
        dash = json.load(f)
    found = []
    for panel in dash["panels"]:
        exprs = [t["expr"] for t in panel.get("targets", []) if t.get("expr")]
        if exprs:
            found.append((panel["title"], exprs))
    return found


def query(prometheus, expr):
    """Prometheus's answer to an instant query: (error or None, number of series)."""
    for grafana, value in (("$__rate_interval", "1m"), ("$__interval", "15s"), ("$__range", "5m")):
        expr = expr.replace(grafana, value)
    url = f"{prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            body = json.load(r)
    except urllib.error.HTTPError as e:
        return json.load(e).get("error", str(e)), 0
    if body.get("status") != "success":
        return body.get("error", "failed"), 0
    return None, len(body["data"]["result"])


def dashboards_query(prometheus, dashboards, must_have_data):
    bad = 0
    # Rates need two scrapes of every target (one a second): wait until a process rate answers.
    for _ in range(30):
        if query(prometheus, 'rate(process_cpu_seconds_total[1m])')[1]:
            break
        time.sleep(1)
    for path in dashboards:
        strict = path in must_have_data
        for title, exprs in panel_queries(path):
            answers = [query(prometheus, e) for e in exprs]
            # A target scraped later than gad's may still lack its second sample: ask again
            # for a while before calling a panel of a strict dashboard empty.
            deadline = time.monotonic() + 30
            while strict and time.monotonic() < deadline and not any(err for err, _ in answers) \
                    and sum(n for _, n in answers) == 0:
                time.sleep(1)
                answers = [query(prometheus, e) for e in exprs]
            errors = [f"{e}: {err}" for e, (err, _) in zip(exprs, answers) if err]
            series = sum(n for _, n in answers)
            if errors:
                print(f"  error  {path}: {title!r}: " + "; ".join(errors))
                bad += 1
            elif series == 0 and strict:
                print(f"  empty  {path}: {title!r} returned no series")
                bad += 1
            else:
                print(f"  ok     {path}: {title!r} ({series} series)")
    return 1 if bad else 0


def split(args, flag):
    i = args.index(flag)
    return args[:i], args[i + 1:]


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    if argv[1] == "alerts-tested":
        rules, tests = split(argv[2:], "--tests")
        return alerts_tested(rules, tests)
    if argv[1] == "names-exist":
        args = argv[2:]
        scrapes, used = split(args[args.index("--scrape") + 1:], "--used")
        return names_exist(scrapes, used)
    if argv[1] == "dashboards-query":
        args = argv[2:]
        prometheus = args[args.index("--prometheus") + 1]
        rest = args[args.index("--dashboards") + 1:]
        dashboards, strict = split(rest, "--must-have-data") if "--must-have-data" in rest else (rest, [])
        return dashboards_query(prometheus, dashboards, strict)
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
