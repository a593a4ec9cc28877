#!/usr/bin/env bash
# Configures and builds jepa-mpc in ./build (Release, 2 parallel jobs by default).
# Usage: scripts/build.sh [extra cmake -D options]
# JEPA_MPC_TARGETS="demo evaluate" builds only those targets (and what they need).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
jobs="${JEPA_MPC_JOBS:-2}"
cmake -S "$root" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
targets=()
for t in ${JEPA_MPC_TARGETS:-}; do targets+=(--target "$t"); done
cmake --build "$root/build" -j "$jobs" "${targets[@]}"
