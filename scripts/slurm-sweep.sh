#!/usr/bin/env bash
# Runs a sweep as a Slurm job array of N shards, then merges them:
#   scripts/slurm-sweep.sh configs/paper/ttft-vs-bandwidth.yaml 8 [extra sbatch flags...]
# Shard i writes results/runs/NAME.shard<i>/ (`cachegen run --shard i/N`); a dependent job runs
# `cachegen merge` into results/runs/NAME/. Each shard can be resubmitted: it resumes.
set -euo pipefail
cd "$(dirname "$0")/.."
config=$1
shards=$2
shift 2
name=$(basename "$config" .yaml)
out=results/runs/$name
mkdir -p results/runs/slurm-logs
array=$(sbatch --parsable --array=0-$((shards - 1)) --job-name="cachegen-$name" \
  --output="results/runs/slurm-logs/$name-%a.log" "$@" \
  --wrap="build/bin/cachegen run $config --quiet --resume --shard \${SLURM_ARRAY_TASK_ID}/$shards --out $out.shard\${SLURM_ARRAY_TASK_ID}")
shard_dirs=$(for i in $(seq 0 $((shards - 1))); do printf '%s ' "$out.shard$i"; done)
sbatch --dependency=afterok:"$array" --job-name="cachegen-$name-merge" \
  --output="results/runs/slurm-logs/$name-merge.log" \
  --wrap="build/bin/cachegen merge --out $out $shard_dirs"
echo "submitted array $array ($shards shards) and its merge into $out"
