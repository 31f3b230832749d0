#!/usr/bin/env bash
# The main job: set up, build, and run the quickstart configs, printing each summary table:
#   configs/quickstart.yaml                 the built-in model's KV for 1K-token line-retrieval
#       contexts, streamed by the 8-bit quantization baseline, a fixed CacheGen level, CacheGen's
#       adaptive controller and text recompute at three bandwidths;
#   configs/quickstart-smollm2-needle.yaml  a real pretrained model, SmolLM2-135M: needle
#       accuracy and KL with 8-bit quantization and CacheGen's levels;
#   configs/quickstart-smollm2-text.yaml    the same on real text: perplexity and KL.
# Writes results/runs/quickstart*/. The SmolLM2 runs are left out when setup did not make the
# model (CACHEGEN_SKIP_MODELS=1).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh release
configs=(quickstart)
if [ -f models/smollm2-135m/config.json ]; then
  configs+=(quickstart-smollm2-needle quickstart-smollm2-text)
else
  echo "[quickstart] models/smollm2-135m is missing (CACHEGEN_SKIP_MODELS=1?): SmolLM2 runs left out"
fi
for name in "${configs[@]}"; do
  rm -rf "results/runs/$name"
  build/bin/cachegen run "configs/$name.yaml" --out "results/runs/$name"
done
