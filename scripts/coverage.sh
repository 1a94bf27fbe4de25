#!/usr/bin/env bash
# Line coverage of the Rust code by the Rust tests, on both backends, with cargo llvm-cov.
# Run through `scripts/test.sh --coverage` (which provides PostgreSQL+PostGIS and Redis), or
# directly with GAD_TEST_PG_URL / GAD_TEST_REDIS_URL pointing at them.
#
# Prints the coverage of the services (core/src/services), the bot (server/src/bot) and the
# whole workspace, writes target/coverage/summary.json and target/coverage/lcov.info, and fails
# when a figure is below its floor in scripts/coverage-floor.txt (the figures reached so far:
# raise them as tests are added, never lower them).
set -euo pipefail
cd "$(dirname "$0")/.."

mkdir -p target/coverage
# The same cfg flag as the other builds (see scripts/test.sh); cargo llvm-cov adds its own
# instrumentation flags and builds into target/llvm-cov-target.
export RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }--cfg erase_components"
cargo llvm-cov clean --workspace >/dev/null 2>&1 || true
set +e
cargo llvm-cov --no-report test --locked --no-fail-fast "$@" 2>&1 | tee target/coverage/test.log
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" -ne 0 ]; then
  # A test that fails once and passes alone is named FLAKY (as in scripts/test.sh); its second
  # run adds to the same coverage data.
  # shellcheck source=scripts/retry-failed-tests.sh
  source scripts/retry-failed-tests.sh
  retry_failed_tests target/coverage/test.log target/coverage cargo llvm-cov --no-report test --locked \
    || { echo "coverage: tests failed under instrumentation" >&2; exit "$rc"; }
fi
cargo llvm-cov report --json --summary-only --output-path target/coverage/summary.json
cargo llvm-cov report --lcov --output-path target/coverage/lcov.info

python3 - target/coverage/summary.json scripts/coverage-floor.txt <<'PY'
import json, sys
summary = json.load(open(sys.argv[1]))
files = summary["data"][0]["files"]
areas = {
    "services": lambda f: "/core/src/services/" in f,
    "bot": lambda f: "/server/src/bot/" in f,
    "workspace": lambda f: "/.cargo/" not in f and "/tests/" not in f,
}
floors = {}
for line in open(sys.argv[2]):
    line = line.split("#")[0].split()
    if len(line) == 2:
        floors[line[0]] = float(line[1])
failed = False
for name, wanted in areas.items():
    count = covered = 0
    for f in files:
        if wanted(f["filename"]):
            count += f["summary"]["lines"]["count"]
            covered += f["summary"]["lines"]["covered"]
    percent = 100.0 * covered / count if count else 0.0
    floor = floors.get(name, 0.0)
    verdict = "ok" if percent + 1e-9 >= floor else "BELOW THE FLOOR"
    failed |= verdict != "ok"
    print(f"coverage {name:<10} {percent:6.2f} % of {count} lines (floor {floor:.2f} %) {verdict}")
sys.exit(1 if failed else 0)
PY
