# shellcheck shell=bash
# Sourced by scripts/test.sh and scripts/coverage.sh.
#
# retry_failed_tests LOG WORKDIR CARGO_TEST_COMMAND...
# After a failed `cargo test` whose output is in LOG: prints why each test failed (its panic
# line, which the long backtraces would otherwise push out of a log's tail), then runs the
# failed tests once more, each alone, with CARGO_TEST_COMMAND (`cargo test --locked`, or
# `cargo llvm-cov --no-report test --locked`, which adds the run to the coverage data). Passes
# only when every one of them passes on its own; a test that passes on the second try is named
# as FLAKY, loudly, so it gets fixed rather than forgotten, and counted in FLAKY_COUNT. A build
# error (no failed test named) is never retried.
retry_failed_tests() {
  local log=$1 work=$2
  shift 2
  local names targets
  FLAKY_COUNT=0
  names=$(sed -n 's/^test \(.*\) \.\.\. FAILED$/\1/p' "$log" | sort -u)
  # shellcheck disable=SC2016  # the backquotes are cargo's, not a command
  targets=$(sed -n 's/^error: test failed, to rerun pass `\(.*\)`$/\1/p' "$log" | sort -u)
  echo "[test] why they failed (panic lines):"
  grep -A3 "panicked at" "$log" | grep -v '^ *[0-9]*: \|^ *at \|^stack backtrace' | head -80 || true
  [ -n "$names" ] && [ -n "$targets" ] || return 1
  echo "[test] running each failed test once more, alone: $(tr '\n' ' ' <<< "$names")"
  local target name passed
  while read -r name; do
    passed=false
    while read -r target; do
      # shellcheck disable=SC2086  # the target is cargo's own "-p X --test Y" words
      "$@" $target -- --exact "$name" > "$work/retry.log" 2>&1 || true
      if grep -q "^test $name \.\.\. FAILED" "$work/retry.log"; then
        tail -40 "$work/retry.log"
        echo "[test] $name failed again" >&2
        return 1
      fi
      grep -q "^test $name \.\.\. ok" "$work/retry.log" && passed=true
    done <<< "$targets"
    $passed || { echo "[test] $name could not be run again" >&2; return 1; }
    echo "[test] FLAKY: $name failed once and passed alone; fix it" >&2
    FLAKY_COUNT=$((FLAKY_COUNT + 1))
  done <<< "$names"
}
