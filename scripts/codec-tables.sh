#!/usr/bin/env bash
# Regenerates the codec numbers the README shows, into results/codec/:
#   report.txt / report.json  `cachegen codec-report` on a synthetic 8-layer 7B-shaped chunk set
#   bench.txt / bench.json    `codec_bench` (Google Benchmark): GB/s of fp16 KV, 1 and all threads
#   bench-avx2.json           cachegen-rANS with CACHEGEN_CPU_LEVEL=avx2 (a CPU without AVX-512)
#   bench-real-kv.json        kvtc's rows again on SmolLM2-135M's KV (when models/smollm2-135m
#                             exists): a held-out document's first 1536 tokens, the PCA basis
#                             calibrated on the calibration text (as scripts/real-model-figures.sh)
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
# cachegen-rANS again as a CPU without AVX-512 runs it (the AVX2 kernels; cpu_level.h).
CACHEGEN_CPU_LEVEL=avx2 build/bin/codec_bench --benchmark_filter='BM_(Encode|DecodeInto)/4/0' \
  --benchmark_min_time=0.5 --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
  --benchmark_out="$out/bench-avx2.json" --benchmark_out_format=json 2>&1 | tee -a "$out/bench.txt"
real_json=("$out/bench-avx2.json")
if [ -f models/smollm2-135m/model.safetensors ]; then
  [ -f results/real-text/documents.txt ] || scripts/make_documents.sh
  calibration=results/real-text/smollm2-135m-pca-l1.kvtc
  [ -f "$calibration" ] || build/bin/cachegen calibrate --model smollm2-135m --max-windows 10 \
    --text results/real-text/calibration.txt --out "$calibration"
  sed -n 2001,2200p results/real-text/documents.txt > "$kv/context.txt"
  build/bin/cachegen kv --model smollm2-135m --dtype f16 --text "$kv/context.txt" \
    --out "$kv/real.safetensors" >/dev/null
  CACHEGEN_BENCH_KVTC_KV="$kv/real.safetensors" CACHEGEN_BENCH_KVTC_CALIBRATION="$calibration" \
    build/bin/codec_bench --benchmark_filter='BM_KvtcDecodeInto|BM_KvtcEncode' \
    --benchmark_min_time=0.5 --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
    --benchmark_out="$out/bench-real-kv.json" --benchmark_out_format=json 2>&1 | tee -a "$out/bench.txt"
  real_json+=("$out/bench-real-kv.json")
fi
python3 scripts/bench_table.py "$out/bench.json" "${real_json[@]}" > "$out/bench.md"
