#!/usr/bin/env bash
# The main job on the built-in model: set up, build, and run configs/quickstart.yaml (the
# built-in model's KV for 1K-token line-retrieval contexts, streamed by the 8-bit quantization
# baseline, a fixed CacheGen level, CacheGen's adaptive controller and text recompute at three
# bandwidths). Writes results/runs/quickstart/ and prints the summary table.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh release
rm -rf results/runs/quickstart
build/bin/cachegen run configs/quickstart.yaml --out results/runs/quickstart
