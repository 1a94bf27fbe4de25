#!/usr/bin/env python3
"""Compares the committed compliance report with a fresh run's (standard library only).

  compliance_compare.py COMMITTED FRESH

Exit status 1, naming each difference, when the fresh run checked something the committed
report does not list, or no longer checks something it lists, or a check's outcome changed.
A check is its area, its name and its expectation; what was observed (times, ids, versions)
may differ between runs.
"""
import re
import sys

ROW = re.compile(r"^\| (✅|❌) \| (.*?) \| (.*?) \| ")


def checks(path):
    """{(area, check, expected): passed} of a report."""
    found, area = {}, None
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("## "):
                area = re.sub(r" \(\d+/\d+ passed\)$", "", line[3:].strip())
            m = ROW.match(line)
            if m:
                found[(area, m.group(2), m.group(3))] = m.group(1) == "✅"
    return found


def main(committed_path, fresh_path):
    committed, fresh = checks(committed_path), checks(fresh_path)
    problems = []
    for key in fresh.keys() - committed.keys():
        problems.append(f"new check, not in the committed report: {' / '.join(key)}")
    for key in committed.keys() - fresh.keys():
        problems.append(f"no longer checked: {' / '.join(key)}")
    for key in committed.keys() & fresh.keys():
        if committed[key] != fresh[key]:
            now = "passes" if fresh[key] else "fails"
            problems.append(f"{' / '.join(key)}: now {now}")
    for problem in sorted(problems):
        print(problem)
    if not fresh:
        print(f"{fresh_path} lists no checks")
        return 1
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
