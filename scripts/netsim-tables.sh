#!/usr/bin/env bash
# Regenerates the network-model numbers the README shows, into results/netsim/:
#   agreement.md   ns-3 vs the fluid model (its defaults) on constant links: 100-BDP transfers, and
#                  paper-scale contexts sent chunk by chunk
#   sizes.md       the same at 1 Gbps / 20 ms for single transfers: the paper's chunk sizes, 100
#                  BDP, 1-100 MB (scripts/netsim_agreement.py says what each table holds)
#   bench.txt/json `netsim_bench`: wall seconds per simulated GB (ns-3), transfers/s (fluid)
# Run after scripts/build.sh (and the paper-kv-sizes figure, whose bits per element it reads).
# Takes ~5 minutes (ns-3 at 10 Gbps is the slow part).
set -euo pipefail
cd "$(dirname "$0")/.."
out=results/netsim
mkdir -p "$out"
python3 scripts/netsim_agreement.py "$out"
build/bin/netsim_bench --benchmark_out="$out/bench.json" --benchmark_out_format=json 2>&1 |
  tee "$out/bench.txt"
