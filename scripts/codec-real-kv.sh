#!/usr/bin/env bash
# The codec report on real KV: the built-in model's KV of ~3K tokens of held-out text (KJV
# Revelation; never trained on), with the offline profile built from another held-out passage.
# Writes results/codec/report-builtin.txt and .json. Run after scripts/build.sh and
# scripts/make_corpus.sh; about a minute.
set -euo pipefail
cd "$(dirname "$0")/.."
out=results/codec
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
[ -f results/builtin-data/heldout.txt ] || scripts/make_corpus.sh
head -c 12000 results/builtin-data/heldout.txt > "$tmp/context.txt"
dd if=results/builtin-data/heldout.txt of="$tmp/profile.txt" ibs=1000 skip=100 count=12 status=none
build/bin/cachegen kv --text "$tmp/context.txt" --out "$tmp/kv.safetensors" >/dev/null
build/bin/cachegen kv --text "$tmp/profile.txt" --out "$tmp/profile.safetensors" >/dev/null
build/bin/cachegen codec-report --profile-kv "$tmp/profile.safetensors" "$tmp/kv.safetensors" \
  2>/dev/null | tee "$out/report-builtin.txt"
build/bin/cachegen codec-report --json --profile-kv "$tmp/profile.safetensors" \
  "$tmp/kv.safetensors" 2>/dev/null > "$out/report-builtin.json"
