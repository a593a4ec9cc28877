#!/usr/bin/env bash
# The test suite under a sanitizer, in its own build folder.
#
#   scripts/sanitize.sh            # AddressSanitizer + UBSan, fast tests (what CI runs)
#   scripts/sanitize.sh all        # ... every test, the binaries end to end included
#   SANITIZER=thread scripts/sanitize.sh   # ThreadSanitizer on the tests that use threads
#
# Suppressions (tests/sanitizers/) cover findings inside third-party libraries only, each with
# why; docs/reliability.md lists every run.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
sanitizer="${SANITIZER:-address}"
scope="${1:-fast}"
build="$root/build-$sanitizer"
"$root/scripts/setup.sh"

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DJEPA_MPC_SANITIZE="$sanitizer" \
  -DJEPA_MPC_BUILD_TESTS=ON -DJEPA_MPC_BUILD_EXAMPLES=ON -DJEPA_MPC_BUILD_BENCHMARKS=OFF >/dev/null
supp="$root/tests/sanitizers"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1:strict_string_checks=1"
export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$supp/ubsan.supp"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$supp/tsan.supp"
# One OpenMP thread per torch call: the sanitizers do not see inside libgomp's thread pool.
export OMP_NUM_THREADS=1

if [ "$sanitizer" = thread ]; then
  # The parts that run threads: parallel collection, the oracle's workers, controllers in threads.
  cmake --build "$build" -j "${JEPA_MPC_JOBS:-2}" --target sim_tests planner_tests control_tests
  cd "$build"
  "$root/scripts/ctest.sh" -j "${JEPA_MPC_JOBS:-2}" --output-on-failure --timeout 900 \
    -R 'CollectorTest|OracleTest\.|ControllersInThreads'
else
  cmake --build "$build" -j "${JEPA_MPC_JOBS:-2}"
  cd "$build"
  label=(-L fast)
  [ "$scope" = all ] && label=()
  "$root/scripts/ctest.sh" -j "${JEPA_MPC_JOBS:-2}" "${label[@]}" --output-on-failure --timeout 1800
fi
