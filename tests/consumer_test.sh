#!/bin/bash
# An outside project against the installed package: install the build tree into a temporary
# prefix, configure and build examples/embed on its own with find_package(jepa_mpc), then run it
# on a tiny model made with the installed collect and train.
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
echo "consumer OK"
