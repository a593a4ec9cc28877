#!/usr/bin/env bash
# JEPA against a pixel-reconstruction world model of the same sizes and against a frozen random
# encoder, on the same data, seeds and planner budget (docs/experiments/jepa-vs-reconstruction.md).
# Collects TASK's data once, trains each objective with each seed, evaluates learned CEM on held-out
# goals (goal seed 100) and prints a Markdown table. Finished steps are skipped when rerun.
#   scripts/ablation.sh TASK EPISODES [OUT] [SEEDS] [OBJECTIVES]
#   e.g. scripts/ablation.sh reach2d 400 out/ablation/reach2d "0 1"
# EVAL_ARGS adds evaluate options (push: EVAL_ARGS="--action-repeat 2 --horizon 12 --time-budget 0").
set -euo pipefail
task=${1:?usage: scripts/ablation.sh TASK EPISODES [OUT] [SEEDS] [OBJECTIVES]}
episodes=${2:?usage: scripts/ablation.sh TASK EPISODES [OUT] [SEEDS] [OBJECTIVES]}
out=${3:-out/ablation/$task}
seeds=${4:-0 1}
objectives=${5:-jepa reconstruction frozen-random}
goals=${GOALS:-50}
bin="$(cd "$(dirname "$0")/.." && pwd)/build/examples"
mkdir -p "$out"
if [ ! -f "$out/data.h5" ]; then
  "$bin/collect" --task "$task" --episodes "$episodes" --out "$out/data.h5.part"
  mv "$out/data.h5.part" "$out/data.h5"
fi
first=1
for seed in $seeds; do
  for objective in $objectives; do
    run="$out/${objective}_s$seed"
    if [ ! -f "$run/quality.json" ]; then
      "$bin/train" --data "$out/data.h5" --out "$run" --objective "$objective" --seed "$seed"
    fi
    methods=learned
    [ "$first" = 1 ] && methods=learned,random
    first=0
    if [ ! -f "$run/eval/results.csv" ]; then
      # shellcheck disable=SC2086
      "$bin/evaluate" --checkpoint "$run/checkpoint.pt" --methods "$methods" --episodes "$goals" \
        --seed 100 --videos 0 --out "$run/eval" ${EVAL_ARGS:-}
    fi
  done
done
python3 - "$out" "$seeds" "$objectives" <<'PY'
import csv, json, sys
out, seeds, objectives = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
print("| objective | seed | parameters (decoder) | train s | h5 ratio | eff. rank | probe R^2 (object) | Spearman (task) | learned CEM | final cm | plan ms |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
random = None
for seed in seeds:
    for objective in objectives:
        run = f"{out}/{objective}_s{seed}"
        q = json.load(open(f"{run}/quality.json"))
        rows = {r["method"]: r for r in csv.DictReader(open(f"{run}/eval/results.csv"))}
        random = random or rows.get("random")
        l = rows["learned-cem"]
        task = f" ({q['spearman_task']:.3f})" if "spearman_task" in q else ""
        obj = f" ({q['probe_r2_object']:.3f})" if "probe_r2_object" in q else ""
        print(f"| {objective} | {seed} | {q['parameters']} ({q['decoder_parameters']}) | {q['train_seconds']:.0f} | "
              f"{q['prediction_ratio_h5']:.3f} | {q['effective_rank']:.1f} / {q['latent_dim']} | {q['probe_r2_ee']:.3f}{obj} | "
              f"{q['spearman_ee']:.3f}{task} | {100 * float(l['success_rate']):.0f}% ({100 * float(l['first_passage_rate']):.0f}%) | "
              f"{100 * float(l['mean_final_distance_m']):.2f} | {float(l['plan_ms_median']):.1f} |")
if random:
    print(f"| random actions | | | | | | | | {100 * float(random['success_rate']):.0f}% ({100 * float(random['first_passage_rate']):.0f}%) | "
          f"{100 * float(random['mean_final_distance_m']):.2f} | |")
PY
