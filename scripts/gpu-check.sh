#!/usr/bin/env bash
# The GPU codec's checks and benchmark on a machine with an NVIDIA GPU (H100/H200: sm_90; set
# CUDA_ARCHITECTURES for others). Builds core + codec with CUDA and without ns-3 or libtorch
# (build-gpu/), runs gpu_codec_check (bit-exact CPU/GPU agreement, incl. real KV of the built-in
# model) and gpu_codec_bench (throughput on a Mistral-7B-shaped 8K context), and prints the
# benchmark table. Outputs also go to $OUT (or results/gpu/). A few minutes on an H100.
#
#   scripts/gpu-check.sh --stage   on the CPU machine, after scripts/build.sh: puts into .deps/
#                                  what the GPU machine lacks (nlohmann-json headers) and a real
#                                  KV cache of the built-in model (.deps/builtin-kv.safetensors)
#   scripts/gpu-check.sh           on the GPU machine, with .deps/ copied along
#                                  (SANITIZE=1: also compute-sanitizer memcheck on a subset)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--stage" ]; then
  mkdir -p .deps/include
  cp -r /usr/include/nlohmann .deps/include/
  text=.deps/kv-text.txt
  head -c 7000 README.md > "$text"  # ~2K tokens of English and code
  build/bin/cachegen kv --model models/builtin --text "$text" --out .deps/builtin-kv.safetensors
  du -sh .deps
  exit 0
fi
out=${OUT:-results/gpu}
mkdir -p "$out"
config=(-G Ninja -S . -B build-gpu -DCMAKE_BUILD_TYPE=Release -DCACHEGEN_WITH_CUDA=ON
        -DCACHEGEN_CODEC_ONLY=ON -DCMAKE_CUDA_ARCHITECTURES="${CUDA_ARCHITECTURES:-90}")
if ! [ -d /usr/include/nlohmann ] && [ -d .deps/include/nlohmann ]; then
  config+=(-DCACHEGEN_NLOHMANN_INCLUDE="$PWD/.deps/include")
fi
cmake "${config[@]}" > "$out/configure.log"
cmake --build build-gpu --target gpu_codec_check gpu_codec_bench > "$out/build.log" 2>&1 ||
  { tail -40 "$out/build.log"; exit 1; }
kv=()
for f in .deps/*.safetensors; do
  [ -e "$f" ] && kv+=(--kv "$f")
done
status=0
build-gpu/bin/gpu_codec_check "${kv[@]}" > "$out/gpu_codec_check.txt" 2>&1 || status=$?
grep -E "^FAIL" "$out/gpu_codec_check.txt" | head -20 || true
tail -1 "$out/gpu_codec_check.txt"
build-gpu/bin/gpu_codec_bench "$@" | tee "$out/gpu_codec_bench.md"
if [ "${SANITIZE:-0}" = 1 ] && command -v compute-sanitizer > /dev/null; then
  # Out-of-bounds and misaligned accesses, on a small subset (memcheck is slow).
  compute-sanitizer --tool memcheck --error-exitcode 3 build-gpu/bin/gpu_codec_check --quick \
    > "$out/memcheck.txt" 2>&1 || status=$?
  grep -E "ERROR SUMMARY|checks passed" "$out/memcheck.txt" || tail -5 "$out/memcheck.txt"
fi
exit $status
