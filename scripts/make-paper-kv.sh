#!/usr/bin/env bash
# The real KV behind the paper-scale figures: SmolLM2-135M (models/smollm2-135m, from
# scripts/setup.sh) prefills the first 8,192 tokens of the Debian documents
# (results/real-text/documents.txt, scripts/make_documents.sh) and saves its KV, f32
# [30 layers, 8192 tokens, 3 heads, 64], to results/real-text/smollm2-135m-kv-8k.safetensors
# (about 380 MB, git-ignored). Configs name it as model "synthetic:kv=FILE": it is tiled to the
# hardware profile's model shape (core/tiled_kv.h). About two minutes here; idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
out=results/real-text/smollm2-135m-kv-8k.safetensors
[ -f "$out" ] && exit 0
[ -x build/bin/cachegen ] || scripts/build.sh release
[ -f results/real-text/documents.txt ] || scripts/make_documents.sh
# 8,192 tokens need ~40 KB of this text; 200 KB leaves room.
head -c 200000 results/real-text/documents.txt > "$out.txt"
build/bin/cachegen kv --model smollm2-135m --text "$out.txt" --max-tokens 8192 --out "$out.partial"
rm -f "$out.txt"
mv "$out.partial" "$out"
