#!/usr/bin/env bash
# Success and planning time against CEM samples and iterations, learned model only, on the same
# goals. Prints a Markdown table; each run's files stay in OUT/s<samples>_i<iterations>.
#   scripts/sweep.sh CHECKPOINT [EPISODES] [OUT]
set -euo pipefail
ck=${1:?usage: scripts/sweep.sh CHECKPOINT [EPISODES] [OUT]}
episodes=${2:-50}
out=${3:-out/sweep}
root="$(cd "$(dirname "$0")/.." && pwd)"
echo "| samples | iterations | success | mean final distance (cm) | plan ms median | p95 |"
echo "|---|---|---|---|---|---|"
for samples in 64 256 1024; do
  for iterations in 1 2 4; do
    dir="$out/s${samples}_i${iterations}"
    "$root/build/examples/evaluate" --checkpoint "$ck" --methods learned --episodes "$episodes" \
      --samples "$samples" --iterations "$iterations" --videos 0 --out "$dir" > /dev/null 2>&1
    awk -F, -v s="$samples" -v i="$iterations" 'NR == 2 {
      printf "| %s | %s | %.0f%% | %.2f | %.1f | %.1f |\n", s, i, 100 * $3, 100 * $4, $6, $7 }' "$dir/results.csv"
  done
done
