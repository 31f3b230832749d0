#!/usr/bin/env bash
# Regenerates the model numbers the README shows, into results/models/:
#   prefill.txt/json  `prefill_bench`: prefill tokens/s and peak memory at 1K, 4K, 8K tokens
# Run after scripts/build.sh. Takes about half a minute.
set -euo pipefail
cd "$(dirname "$0")/.."
out=results/models
mkdir -p "$out"
build/bin/prefill_bench --benchmark_out="$out/prefill.json" --benchmark_out_format=json 2>&1 |
  tee "$out/prefill.txt"
