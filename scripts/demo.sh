#!/usr/bin/env bash
# The main demo: installs what is missing, builds, and runs the demo on reach2d (or --task ...).
# Everything lands in out/demo (or --out ...).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/setup.sh"
"$root/scripts/build.sh"
cd "$root"
exec "$root/build/examples/demo" "$@"
