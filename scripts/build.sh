#!/usr/bin/env bash
# Configures and builds jepa-mpc in ./build (Release, 2 parallel jobs by default).
# Usage: scripts/build.sh [extra cmake -D options]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
jobs="${JEPA_MPC_JOBS:-2}"
cmake -S "$root" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build "$root/build" -j "$jobs"
