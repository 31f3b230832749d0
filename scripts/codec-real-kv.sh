#!/usr/bin/env bash
# The codec report on real KV, of one model (default builtin):
#   builtin       the built-in model's KV of ~3K tokens of held-out text (KJV Revelation; never
#                 trained on), the offline profile from another held-out passage;
#   smollm2-135m  SmolLM2-135M's KV of ~2.3K tokens of the Debian documents
#                 (scripts/make_documents.sh), the offline profile from the calibration text.
# Writes results/codec/report-MODEL.txt and .json. Run after scripts/build.sh; about a minute
# (builtin) or two (smollm2-135m).
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-builtin}
out=results/codec
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
case "$model" in
  builtin)
    [ -f results/builtin-data/heldout.txt ] || scripts/make_corpus.sh
    head -c 12000 results/builtin-data/heldout.txt > "$tmp/context.txt"
    dd if=results/builtin-data/heldout.txt of="$tmp/profile.txt" ibs=1000 skip=100 count=12 status=none
    ;;
  smollm2-135m)
    [ -f results/real-text/documents.txt ] || scripts/make_documents.sh
    sed -n 2001,2200p results/real-text/documents.txt > "$tmp/context.txt"
    sed -n 4001,4200p results/real-text/calibration.txt > "$tmp/profile.txt"
    ;;
  *)
    echo "usage: scripts/codec-real-kv.sh [builtin|smollm2-135m]" >&2
    exit 2
    ;;
esac
build/bin/cachegen kv --model "$model" --text "$tmp/context.txt" --out "$tmp/kv.safetensors" >/dev/null
build/bin/cachegen kv --model "$model" --text "$tmp/profile.txt" --out "$tmp/profile.safetensors" >/dev/null
build/bin/cachegen codec-report --profile-kv "$tmp/profile.safetensors" "$tmp/kv.safetensors" \
  2>/dev/null | tee "$out/report-$model.txt"
build/bin/cachegen codec-report --json --profile-kv "$tmp/profile.safetensors" \
  "$tmp/kv.safetensors" 2>/dev/null > "$out/report-$model.json"
