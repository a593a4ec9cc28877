#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds with tests, runs ctest on 2 cores.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/setup.sh"
"$root/scripts/build.sh" -DJEPA_MPC_BUILD_TESTS=ON -DJEPA_MPC_BUILD_EXAMPLES=ON
cd "$root/build"
"$root/scripts/ctest.sh" -j "${JEPA_MPC_JOBS:-2}" --output-on-failure --timeout 600
