#!/usr/bin/env bash
# Fuzzes every reader of outside input with libFuzzer (clang, AddressSanitizer + UBSan), one
# target after another (or FUZZ_PARALLEL at a time), each for FUZZ_SECONDS (default 600).
# Builds in ./build-fuzz; each target starts from the kept corpus in tests/fuzz/corpus/NAME,
# grows a working corpus in build-fuzz/corpus/NAME and writes crashing inputs to
# build-fuzz/findings/NAME. A finding belongs in tests/fuzz/corpus/NAME once fixed: ctest replays
# that folder on every build.
#
#   scripts/fuzz.sh                       # all five targets, 10 minutes each
#   FUZZ_SECONDS=60 scripts/fuzz.sh fuzz_train_config
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
seconds="${FUZZ_SECONDS:-600}"
parallel="${FUZZ_PARALLEL:-1}"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_train_config fuzz_robot_description fuzz_controller_images fuzz_dataset fuzz_checkpoint)

"$root/scripts/setup.sh"
if ! command -v clang++ >/dev/null; then
  echo "fuzz: installing clang (libFuzzer)"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get install -y -qq --no-install-recommends clang
fi
build="$root/build-fuzz"
CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DJEPA_MPC_FUZZ=ON \
  -DJEPA_MPC_SANITIZE=address -DJEPA_MPC_BUILD_EXAMPLES=OFF -DJEPA_MPC_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build "$build" -j "${JEPA_MPC_JOBS:-2}" --target "${targets[@]}"

# Leaks inside third-party libraries (named, with why) are suppressed; ours are findings.
export LSAN_OPTIONS="suppressions=$root/tests/sanitizers/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:suppressions=$root/tests/sanitizers/ubsan.supp"

run() {
  local t="$1" work="$build/corpus/$1" found="$build/findings/$1"
  mkdir -p "$work" "$found"
  local start=$SECONDS
  # Leaks are checked; -timeout flags an input that takes over 20 s (a hang), -rss_limit_mb one
  # that needs over 4 GB (an allocation sized by the input).
  if TMPDIR="$build" "$build/tests/fuzz/$t" "$work" "$root/tests/fuzz/corpus/$t" -max_total_time="$seconds" \
      -timeout=20 -rss_limit_mb=4096 -artifact_prefix="$found/" -print_final_stats=1 >"$build/$t.log" 2>&1; then
    echo "$t: $((SECONDS - start)) s, no finding; $(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$build/$t.log" | grep -Eo '[0-9]+$') inputs run, corpus $(ls "$work" | wc -l) files"
  else
    echo "$t: FINDING after $((SECONDS - start)) s: $(ls "$found" | head -1) (log: $build/$t.log)"
    return 1
  fi
}
status=0
running=0
for t in "${targets[@]}"; do
  run "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$parallel" ]; then wait -n || status=1; running=$((running - 1)); fi
done
while [ "$running" -gt 0 ]; do wait -n || status=1; running=$((running - 1)); done
exit $status
