#!/bin/bash
# Outside projects against the installed package: install the build tree into a temporary
# prefix, configure and build examples/embed (find_package(jepa_mpc COMPONENTS sim)) and
# examples/control_only (find_package(jepa_mpc): the controller alone) on their own, then run
# them on a tiny model made with the installed collect and train. The controller-only program's
# link line and its loaded libraries must hold neither MuJoCo, EGL/OpenGL nor HDF5.
#   consumer_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 source=$2
tmp=$(mktemp -d /tmp/jepa_consumer_XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" > "$tmp/install.log"
cmake -S "$source/examples/embed" -B "$tmp/build" -DCMAKE_PREFIX_PATH="$tmp/prefix" > "$tmp/configure.log"
cmake --build "$tmp/build" > "$tmp/build.log"
"$tmp/prefix/bin/collect" --task reach2d --episodes 4 --image-size 32 --out "$tmp/data.h5" 2> /dev/null
"$tmp/prefix/bin/train" --data "$tmp/data.h5" --out "$tmp/model" --steps 4 --batch-size 4 \
  --checkpoint-every 4 --threads 2 2> /dev/null > /dev/null
out=$("$tmp/build/embed" "$tmp/model/checkpoint.pt" 3)
echo "$out" | tail -2
echo "$out" | grep -Eq "^(reached|not reached) after [0-9]+ steps" || { echo "FAIL: no final line"; exit 1; }
echo "$out" | grep -q "^step  0  energy" || { echo "FAIL: no step lines"; exit 1; }
# Bad input: one line on stderr, non-zero exit.
if err=$("$tmp/build/embed" "$tmp/missing.pt" 2>&1); then echo "FAIL: missing checkpoint accepted"; exit 1; fi
[ "$(echo "$err" | wc -l)" = 1 ] && echo "$err" | grep -q "embed: error: .*missing.pt" ||
  { echo "FAIL: error was: $err"; exit 1; }

# The controller alone: torch and jepa_mpc on the link line, nothing of the simulator side.
cmake -S "$source/examples/control_only" -B "$tmp/build-act" -DCMAKE_PREFIX_PATH="$tmp/prefix" > "$tmp/configure-act.log"
cmake --build "$tmp/build-act" --verbose > "$tmp/build-act.log"
link=$(grep -E -- "-o act( |$)" "$tmp/build-act.log" || true)
[ -n "$link" ] || { echo "FAIL: no link line for act in the build log"; exit 1; }
if echo "$link" | grep -Eq "mujoco|libEGL|libOpenGL|libGL[.X]|hdf5|OSMesa"; then
  echo "FAIL: the controller-only link line pulls the simulator side: $link"; exit 1
fi
echo "$link" | grep -q "libjepa_mpc_control" || { echo "FAIL: act does not link jepa_mpc_control"; exit 1; }
# Its own dynamic dependencies (not ldd's closure: Debian's libtorch_cpu itself needs OpenCV,
# which loads GL and HDF5 whatever links it).
needed=$(readelf -d "$tmp/build-act/act" | grep NEEDED)
if echo "$needed" | grep -Eq "mujoco|libEGL|libOpenGL|libGL[.X]|hdf5|OSMesa"; then
  echo "FAIL: act needs simulator libraries:"; echo "$needed"; exit 1
fi
echo "controller-only link line: $(echo "$link" | tr ' ' '\n' | grep -E '\.(a|so)' | xargs -n1 basename | sort -u | tr '\n' ' ')"
# A goal and an observation of the model's size (32 x 32): random pixels are a valid input.
for f in goal obs; do { printf 'P6\n32 32\n255\n'; head -c 3072 /dev/urandom; } > "$tmp/$f.ppm"; done
out=$("$tmp/build-act/act" "$tmp/model/checkpoint.pt" "$tmp/goal.ppm" "$tmp/obs.ppm" 0.1 -0.2)
echo "$out"
echo "$out" | grep -Eq "^action( -?[01]\.[0-9]{4}){2}$" || { echo "FAIL: no 2-d action in [-1, 1]"; exit 1; }
{ printf 'P6\n16 16\n255\n'; head -c 768 /dev/urandom; } > "$tmp/small.ppm"
if err=$("$tmp/build-act/act" "$tmp/model/checkpoint.pt" "$tmp/goal.ppm" "$tmp/small.ppm" 0.1 -0.2 2>&1); then
  echo "FAIL: a 16x16 observation was accepted"; exit 1
fi
echo "$err" | grep -q "act: error: observation image is 16x16, the model expects 32x32" ||
  { echo "FAIL: error was: $err"; exit 1; }
echo "consumer OK"
