#!/usr/bin/env bash
# ctest with its arguments, failing when any test was skipped. No jepa-mpc test skips itself, but a
# fixture whose SetUpTestSuite fails makes GoogleTest report its tests as skipped, and ctest counts
# those as passed (gtest_discover_tests adds its own skip pattern beside ours, and either matches).
set -uo pipefail
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
ctest "$@" 2>&1 | tee "$log"
code=${PIPESTATUS[0]}
if grep -q '(Skipped)' "$log"; then
  echo "ctest.sh: tests were skipped (listed above): a failed SetUpTestSuite or a missing prerequisite" >&2
  exit 1
fi
exit "$code"
