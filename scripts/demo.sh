#!/usr/bin/env bash
# The main demo: installs what is missing, builds, and runs the demo on reach2d (or --task ...,
# or --robot my_arm.json / my_arm.xml for your own arm: docs/own-arm.md).
# Collects data, trains the world model, evaluates it against the oracle and random actions, and
# writes plots, videos and report.html to out/demo/<task> (or --out ...). A second run reuses them.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/setup.sh"
JEPA_MPC_TARGETS="demo train evaluate" "$root/scripts/build.sh"   # the demo's binaries only
cd "$root"
exec "$root/build/examples/demo" "$@"
