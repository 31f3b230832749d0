#!/usr/bin/env bash
# Regenerates the codec numbers the README shows, into results/codec/:
#   report.txt / report.json  `cachegen codec-report` on a synthetic 8-layer 7B-shaped chunk set
#   bench.txt / bench.json    `codec_bench` (Google Benchmark): GB/s of fp16 KV, 1 and all threads
# Run after scripts/build.sh. Takes about five minutes on 2 cores (3 repetitions: this
# machine's speed drifts by tens of percent between runs; the table shows medians).
set -euo pipefail
cd "$(dirname "$0")/.."
out=results/codec
mkdir -p "$out"
kv=$(mktemp -d)
trap 'rm -rf "$kv"' EXIT
build/bin/cachegen synth-kv --layers 8 --tokens 3072 --kv-heads 8 --head-dim 128 --seed 1 \
  --out "$kv/kv.safetensors" >/dev/null
build/bin/cachegen synth-kv --layers 8 --tokens 3072 --kv-heads 8 --head-dim 128 --seed 2 \
  --out "$kv/profile.safetensors" >/dev/null
build/bin/cachegen codec-report --profile-kv "$kv/profile.safetensors" "$kv/kv.safetensors" \
  2>/dev/null | tee "$out/report.txt"
build/bin/cachegen codec-report --json --profile-kv "$kv/profile.safetensors" \
  "$kv/kv.safetensors" 2>/dev/null > "$out/report.json"
build/bin/codec_bench --benchmark_min_time=0.5 --benchmark_repetitions=3 \
  --benchmark_report_aggregates_only=true --benchmark_out="$out/bench.json" \
  --benchmark_out_format=json 2>&1 | tee "$out/bench.txt"
python3 scripts/bench_table.py "$out/bench.json" > "$out/bench.md"
