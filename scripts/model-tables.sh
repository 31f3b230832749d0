#!/usr/bin/env bash
# Regenerates the model numbers the README shows, into results/models/:
#   prefill.txt/json  `prefill_bench`: prefill tokens/s and peak memory at 1K, 4K, 8K tokens
#   builtin.md        the built-in model: held-out perplexity and line-retrieval accuracy at
#                     1K and 2K tokens of context (uncompressed KV), with the commands
# Run after scripts/build.sh (and scripts/make_corpus.sh for the held-out text). ~5 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
out=results/models
mkdir -p "$out"
build/bin/prefill_bench --benchmark_out="$out/prefill.json" --benchmark_out_format=json 2>&1 |
  tee "$out/prefill.txt"
[ -f results/builtin-data/heldout.txt ] || scripts/make_corpus.sh
{
  echo "| measure | command | value |"
  echo "|---|---|---|"
  field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
  ppl=$(build/bin/cachegen perplexity --text results/builtin-data/heldout.txt --json)
  echo "| held-out perplexity (KJV Revelation + 2 fortunes files, never trained on) |" \
       "\`cachegen perplexity --text results/builtin-data/heldout.txt\` |" \
       "$(echo "$ppl" | field perplexity) over $(echo "$ppl" | field tokens) tokens |"
  for ctx in 256 1024 2048; do
    r=$(build/bin/cachegen retrieval-eval --context-tokens $ctx --episodes 100 --seed 1000 --json)
    echo "| line retrieval, $ctx-token contexts, 100 episodes |" \
         "\`cachegen retrieval-eval --context-tokens $ctx --episodes 100\` |" \
         "accuracy $(echo "$r" | field accuracy) |"
  done
} | tee "$out/builtin.md"
