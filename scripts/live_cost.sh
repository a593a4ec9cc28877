#!/usr/bin/env bash
# What the live view costs a control loop: the same evaluation (learned planner only, no videos or
# contact sheets) without and with `--serve`, a headless chromium watching; prints the wall time per
# control step of each, the planning time per step and the frame rate the page received.
# VIEWER_NICE=N starts the browser at that niceness (19: the lowest CPU priority).
# THREADS=N runs both evaluations with N planner threads (1 on 2 cores leaves the browser a core).
# VIEWER=curl reads the stream with curl instead (what the server and the loop cost, without a
# browser on the same cores).
# BASELINE=blank runs the same browser beside the run without `--serve`, on a blank page: the
# difference is then what the live page adds to a loop that already shares its cores with a browser.
# Usage: scripts/live_cost.sh CHECKPOINT [EPISODES [evaluate options for the live run, e.g. --serve-fps 25]]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
ck="$1"; episodes="${2:-20}"
bin="$root/build/examples/evaluate"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
common=(--checkpoint "$ck" --methods learned --episodes "$episodes" --videos 0 --failure-videos 0
        --no-contact-sheets --seed 100 ${THREADS:+--threads $THREADS})
steps=$(( episodes * 50 ))  # the reach tasks' episode length
browser=""
start_browser() {  # name, url; sets $browser to its pid
  nice -n "${VIEWER_NICE:-0}" chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run \
    --user-data-dir="$tmp/profile-$1" "$2" > /dev/null 2>&1 &
  browser=$!
}
run() {  # name, extra args...
  local name="$1"; shift
  local start end
  start=$(date +%s.%N)
  /usr/bin/time -f "%U %S" -o "$tmp/$name.cpu" "$bin" "${common[@]}" --out "$tmp/$name" "$@" \
    > "$tmp/$name.out" 2> "$tmp/$name.err" &
  local pid=$!
  browser=""
  if [ "$name" = live ]; then
    local url=""
    for _ in $(seq 1 300); do
      url=$(grep -o 'http://[0-9.:]*/' "$tmp/$name.err" || true); [ -n "$url" ] && break; sleep 0.1
    done
    if [ "${VIEWER:-chromium}" = curl ]; then  # a viewer that only reads the stream
      curl -s "${url}stream.mjpg" -o "$tmp/stream.mjpg" &
      browser=$!
    else
      start_browser "$name" "$url"
    fi
  elif [ "${BASELINE:-none}" = blank ]; then
    start_browser "$name" about:blank
  fi
  wait "$pid"
  end=$(date +%s.%N)
  local viewer_cpu=0
  if [ -n "$browser" ]; then
    # CPU seconds the viewer used (chromium runs as several processes)
    viewer_cpu=$(python3 - "$tmp" <<'PY'
import os, sys
total = 0.0
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        cmd = open("/proc/%s/cmdline" % pid, "rb").read().decode(errors="replace")
        if (sys.argv[1] not in cmd and not cmd.startswith("/usr/lib/chromium/")) or "evaluate" in cmd:
            continue
        fields = open("/proc/%s/stat" % pid).read().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        pass
print("%.2f" % total)
PY
)
    kill "$browser" 2> /dev/null || true
    wait "$browser" 2> /dev/null || true
    sleep 1  # its other processes follow it out before the next run is timed
  fi
  local waited
  waited=$(grep -o 'opened the stream after [0-9.]*' "$tmp/$name.err" | grep -o '[0-9.]*$' || echo 0)
  python3 - "$name" "$start" "$end" "$waited" "$steps" "$tmp/$name/results.json" "$tmp/$name.cpu" "$viewer_cpu" <<'PY'
import json, sys
name, start, end, waited, steps, results, cpu_file, viewer_cpu = sys.argv[1:]
wall = float(end) - float(start) - float(waited)
m = json.load(open(results))["methods"][0]
cpu = sum(float(x) for x in open(cpu_file).read().split()[-2:])
print("%-8s %.2f s for %s steps (page wait excluded): %.2f ms per step; planning median %.2f ms, p95 %.2f ms; "
      "CPU: evaluate %.2f s, viewer %.2f s"
      % (name, wall, steps, 1000 * wall / int(steps), m["plan_ms_median"], m["plan_ms_p95"], cpu, float(viewer_cpu)))
PY
}
run plain
run live --serve 0 --serve-wait 60 "${@:3}"
grep 'live view: [0-9]' "$tmp/live.err"
