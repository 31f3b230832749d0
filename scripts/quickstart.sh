#!/usr/bin/env bash
# The main job on built-in defaults: set up, build, make a KV cache and print the codec report
# (size, bits per element with all metadata, coding efficiency, error, speed for every codec).
# Until the built-in model lands, the KV cache comes from the documented synthetic generator
# (core/include/cachegen/core/synthetic_kv.h), shaped like 8 layers of a 7B GQA model.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh release
mkdir -p results/quickstart
build/bin/cachegen synth-kv --layers 8 --tokens 1536 --kv-heads 8 --head-dim 128 --seed 1 \
  --out results/quickstart/kv.safetensors
build/bin/cachegen synth-kv --layers 8 --tokens 1536 --kv-heads 8 --head-dim 128 --seed 2 \
  --out results/quickstart/kv-profile.safetensors
build/bin/cachegen codec-report --profile-kv results/quickstart/kv-profile.safetensors \
  results/quickstart/kv.safetensors
