#!/usr/bin/env bash
# Everything that needs an NVIDIA GPU, in one call on the GPU machine (H100/H200: sm_90; set
# CUDA_ARCHITECTURES for others): the decoder on CUDA and the resident GPU pipeline against their
# CPU references (CudaModel*, ResidentCompute* tests), measured TTFT of random-weight models of
# SmolLM2-135M's and Mistral-7B's shapes beside the hardware profile's prediction
# (configs/gpu/*.yaml, `cachegen run`), and the CUDA codec's bit-exactness checks and benchmark.
# Outputs go to $OUT (or results/gpu/): logs, the codec check and benchmark, and ttft-runs.tar.gz
# (each run's config.yaml, runs.csv, summary.json, provenance.json); scripts/gpu_ttft_table.py
# turns the runs into results/gpu/ttft.md.
#
#   scripts/gpu-check.sh --stage   on a CPU machine with the CUDA toolkit and .venv (torch
#                                  2.11 + CUDA 13, as the GPU machine has): builds
#                                  build-gpu-stage/ (CUDA and libtorch, no ns-3) and puts into
#                                  .deps/ what the GPU machine lacks: yaml-cpp, nlohmann-json
#                                  headers, and a real KV cache of the built-in model.
#   scripts/gpu-check.sh [STEPS]   on the GPU machine, with build-gpu-stage/bin, .deps,
#                                  results/real-text and models/smollm2-135m/tokenizer.json
#                                  carried along. STEPS (default: tests ttft codec): any of
#                                  tests, ttft, ttft-smollm2, ttft-mistral, codec.
#                                  Without build-gpu-stage/bin it builds the codec alone there.
set -euo pipefail
cd "$(dirname "$0")/.."
stage=build-gpu-stage
if [ "${1:-}" = "--stage" ]; then
  mkdir -p .deps/include .deps/lib
  cp -r /usr/include/nlohmann .deps/include/
  cp -L /lib/x86_64-linux-gnu/libyaml-cpp.so.0.7 .deps/lib/
  nvcc=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
  cmake -G Ninja -S . -B $stage -DCMAKE_BUILD_TYPE=Release -DCACHEGEN_WITH_CUDA=ON \
    -DCMAKE_CUDA_COMPILER="$nvcc" -DCMAKE_CUDA_ARCHITECTURES="${CUDA_ARCHITECTURES:-90}" \
    -DCACHEGEN_WITH_NS3=OFF > /dev/null
  cmake --build $stage -j "$(nproc)" --target cachegen models_tests experiments_tests \
    gpu_codec_check gpu_codec_bench
  # The binaries' tests find the tree where it was configured; the GPU machine links it there.
  echo "$PWD" > .deps/source_dir
  text=.deps/kv-text.txt
  head -c 7000 README.md > "$text"  # ~2K tokens of English and code
  $stage/bin/cachegen kv --model models/builtin --text "$text" --out .deps/builtin-kv.safetensors
  du -sh .deps $stage/bin
  exit 0
fi

out=${OUT:-results/gpu}
mkdir -p "$out"
steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(tests ttft codec)
want() {
  local s
  for s in "${steps[@]}"; do [ "$s" = "$1" ] && return 0; done
  return 1
}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/device.txt"
status=0

if [ -x $stage/bin/cachegen ]; then
  # Built on the CPU machine against the same torch (2.11, CUDA 13): use this machine's libtorch.
  torch_lib=$(python3 -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')
  export LD_LIBRARY_PATH="$PWD/.deps/lib:$torch_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  configured=$(cat .deps/source_dir)
  if [ "$configured" != "$PWD" ] && ! [ -e "$configured" ]; then
    mkdir -p "$(dirname "$configured")"
    ln -s "$PWD" "$configured"
  fi
  bin=$stage/bin
else
  # The codec alone, built here (no libtorch or yaml-cpp needed).
  config=(-G Ninja -S . -B build-gpu -DCMAKE_BUILD_TYPE=Release -DCACHEGEN_WITH_CUDA=ON
          -DCACHEGEN_CODEC_ONLY=ON -DCMAKE_CUDA_ARCHITECTURES="${CUDA_ARCHITECTURES:-90}")
  if ! [ -d /usr/include/nlohmann ] && [ -d .deps/include/nlohmann ]; then
    config+=(-DCACHEGEN_NLOHMANN_INCLUDE="$PWD/.deps/include")
  fi
  cmake "${config[@]}" > "$out/configure.log"
  cmake --build build-gpu --target gpu_codec_check gpu_codec_bench > "$out/build.log" 2>&1 ||
    { tail -40 "$out/build.log"; exit 1; }
  bin=build-gpu/bin
  steps=(codec)
fi

if want tests; then
  echo "== tests: the decoder on CUDA, the resident GPU pipeline"
  export CACHEGEN_REQUIRE_GPU=1
  $bin/models_tests --gtest_filter='CudaModel*' > "$out/tests.txt" 2>&1 || status=1
  $bin/experiments_tests --gtest_filter='ResidentCompute*' >> "$out/tests.txt" 2>&1 || status=1
  grep -E "^\[  (PASSED|FAILED|SKIPPED) |^\[       OK|^\[  FAILED" "$out/tests.txt" || tail -20 "$out/tests.txt"
fi

runs=()
for model in smollm2-135m mistral-7b; do
  want ttft || want "ttft-${model%%-*}" || continue
  echo "== ttft-$model"
  dir=results/runs/gpu/ttft-$model
  if $bin/cachegen run configs/gpu/ttft-$model.yaml --out "$dir" --resume > "$out/ttft-$model.log" 2>&1; then
    tail -40 "$out/ttft-$model.log"
  else
    status=1
    tail -20 "$out/ttft-$model.log"
  fi
  runs+=("$dir")
  # Packed after each run, so that a call cut short still brings back what finished.
  tar czf "$out/ttft-runs.tar.gz" --transform 's|^results/runs/gpu/||' \
    $(for d in "${runs[@]}"; do ls "$d"/{config.yaml,runs.csv,summary.json,provenance.json} 2>/dev/null; done)
done
if [ ${#runs[@]} -gt 0 ]; then
  python3 scripts/gpu_ttft_table.py "${runs[@]}" | tee "$out/ttft.md" || status=1
fi

if want codec; then
  echo "== codec: bit-exactness and throughput"
  kv=()
  for f in .deps/*.safetensors; do
    [ -e "$f" ] && kv+=(--kv "$f")
  done
  $bin/gpu_codec_check "${kv[@]}" > "$out/gpu_codec_check.txt" 2>&1 || status=$?
  grep -E "^FAIL" "$out/gpu_codec_check.txt" | head -20 || true
  tail -1 "$out/gpu_codec_check.txt"
  $bin/gpu_codec_bench | tee "$out/gpu_codec_bench.md"
  if [ "${SANITIZE:-0}" = 1 ] && command -v compute-sanitizer > /dev/null; then
    # Out-of-bounds and misaligned accesses, on a small subset (memcheck is slow).
    compute-sanitizer --tool memcheck --error-exitcode 3 $bin/gpu_codec_check --quick \
      > "$out/memcheck.txt" 2>&1 || status=$?
    grep -E "ERROR SUMMARY|checks passed" "$out/memcheck.txt" || tail -5 "$out/memcheck.txt"
  fi
fi
exit $status
