#!/usr/bin/env bash
# Installs every Debian package jepa-mpc needs to build, test and run its demo.
# Idempotent: when everything is present it only checks and returns.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libtorch-dev libopenblas0-openmp       # LibTorch 1.13 (CPU); OpenBLAS makes it ~30x faster
  libgloo-dev                            # the Gloo headers c10d's process group needs (data-parallel training)
  libmujoco-dev libqhull-dev             # MuJoCo 2.2.2 (its CMake config names qhull's headers)
  libeigen3-dev                          # differential IK
  libopencv-dev                          # image writing, text overlays
  libegl-dev libegl-mesa0 libgl1-mesa-dri libgl-dev libosmesa6-dev  # headless rendering (EGL surfaceless, OSMesa fallback)
  libhdf5-dev                            # datasets
  nlohmann-json3-dev libcli11-dev        # configs, metadata, command lines
  libgtest-dev libgmock-dev libbenchmark-dev  # tests and benchmarks
  ffmpeg                                 # H.264 mp4 videos that browsers play
  pybind11-dev python3-dev python3-numpy python3-pytest  # the jepa_mpc Python module and its tests
  libcpp-httplib-dev                     # the live view's HTTP server (evaluate --serve)
  chromium                               # the headless browser the live view's test loads the page in
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# Node.js and npm fetch the report's chart libraries; a machine that has them from elsewhere keeps them.
if ! command -v npm >/dev/null 2>&1; then missing+=(nodejs npm); fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages present"
else
  echo "setup: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Vega, Vega-Lite and vega-embed from the npm registry, at the versions package-lock.json pins: the
# build inlines them into the report, which then opens from the file system without a network.
root="$(cd "$(dirname "$0")/.." && pwd)"
vega="$root/third_party/vega"
if [ ! -f "$vega/node_modules/.package-lock.json" ] || [ "$vega/package-lock.json" -nt "$vega/node_modules/.package-lock.json" ]; then
  echo "setup: npm ci in third_party/vega"
  (cd "$vega" && npm ci --no-audit --no-fund --loglevel=error)
fi
echo "setup: done"
