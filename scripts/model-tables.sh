#!/usr/bin/env bash
# Regenerates the model numbers the README shows, into results/models/:
#   prefill.txt/json  `prefill_bench`: prefill tokens/s and peak memory at 1K, 4K, 8K tokens
#   builtin.md        the built-in model: held-out perplexity, copying (perplexity of a repeated
#                     passage), accuracy on LongChat's official LongEval prompts at 1K, 2K and 4K
#                     tokens (scripts/make-longeval.sh) and on its own line-retrieval template at
#                     256, 1K and 2K tokens (uncompressed KV), with the commands; and, when
#                     results/builtin-data/stage3 is there (scripts/train-builtin.sh), the same
#                     perplexity and LongEval rows for that stage, the model before LongEval
# Run after scripts/build.sh (and scripts/make_corpus.sh for the held-out text). ~5 minutes.
# CACHEGEN_SKIP_PREFILL=1 leaves prefill.txt/json as they are (its times need an idle machine).
set -euo pipefail
cd "$(dirname "$0")/.."
out=results/models
mkdir -p "$out"
if [ "${CACHEGEN_SKIP_PREFILL:-0}" != 1 ]; then
  build/bin/prefill_bench --benchmark_out="$out/prefill.json" --benchmark_out_format=json 2>&1 |
    tee "$out/prefill.txt"
fi
[ -f results/builtin-data/heldout.txt ] || scripts/make_corpus.sh
[ -f results/longeval/lines-4096.jsonl ] || scripts/make-longeval.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
{
  echo "| measure | command | value |"
  echo "|---|---|---|"
  field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
  ppl=$(build/bin/cachegen perplexity --text results/builtin-data/heldout.txt --json)
  echo "| held-out perplexity (KJV Revelation + 2 fortunes files, never trained on) |" \
       "\`cachegen perplexity --text results/builtin-data/heldout.txt\` |" \
       "$(echo "$ppl" | field perplexity) over $(echo "$ppl" | field tokens) tokens |"
  hf=$(.venv/bin/python scripts/hf_perplexity.py models/builtin results/builtin-data/heldout.txt \
       2>/dev/null)
  echo "| the same, by Hugging Face transformers on the same checkpoint |" \
       "\`.venv/bin/python scripts/hf_perplexity.py models/builtin results/builtin-data/heldout.txt\` |" \
       "$(echo "$hf" | field perplexity) over $(echo "$hf" | field tokens) tokens |"
  # Copying: 150 held-out words in a fixed random order, then the same words again. A model
  # that copies (induction) predicts the repeat far better than the first pass.
  python3 - results/builtin-data/heldout.txt "$tmp/once.txt" "$tmp/twice.txt" <<'PY'
import random, sys
words = open(sys.argv[1], encoding="utf-8").read().split()
random.Random(5).shuffle(words)
passage = " ".join(words[:150]) + "\n"
open(sys.argv[2], "w").write(passage)
open(sys.argv[3], "w").write(passage + passage)
PY
  once=$(build/bin/cachegen perplexity --text "$tmp/once.txt" --json)
  twice=$(build/bin/cachegen perplexity --text "$tmp/twice.txt" --json)
  repeat=$(python3 -c "import json, math, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
nll = math.log(b['perplexity']) * b['tokens'] - math.log(a['perplexity']) * a['tokens']
print(round(math.exp(nll / (b['tokens'] - a['tokens'])), 2))" "$once" "$twice")
  echo "| copying: perplexity of 150 shuffled held-out words, then of their exact repeat |" \
       "\`scripts/model-tables.sh\` (two \`cachegen perplexity\` runs) |" \
       "$(echo "$once" | field perplexity | xargs printf '%.1f') first, $repeat on the repeat |"
  interval() {  # Wilson's 95% interval of a retrieval-eval --json, in percent
    python3 -c "import json,sys; a,b=json.load(sys.stdin)['accuracy_ci95']; print(f'[{100*a:.1f}%, {100*b:.1f}%]')"
  }
  longeval_rows() {  # MODEL_DIR LABEL
    for ctx in 1024 2048 4096; do
      r=$(build/bin/cachegen retrieval-eval --model "$1" --longeval results/longeval/lines-$ctx.jsonl \
          --context-tokens $ctx --episodes 100 --json)
      echo "| $2LongEval lines (official prompts, LongEval's rule), $ctx tokens, 100 cases |" \
           "\`cachegen retrieval-eval --model $1 --longeval results/longeval/lines-$ctx.jsonl --context-tokens $ctx\` |" \
           "accuracy $(echo "$r" | field accuracy), 95% interval $(echo "$r" | interval) |"
    done
  }
  longeval_rows builtin ""
  stage3=results/builtin-data/stage3
  if [ -d $stage3 ]; then
    ppl=$(build/bin/cachegen perplexity --model $stage3 --text results/builtin-data/heldout.txt --json)
    echo "| before LongEval (stage 3): held-out perplexity |" \
         "\`cachegen perplexity --model $stage3 --text results/builtin-data/heldout.txt\` |" \
         "$(echo "$ppl" | field perplexity) over $(echo "$ppl" | field tokens) tokens |"
    longeval_rows $stage3 "before LongEval (stage 3): "
  fi
  for ctx in 256 1024 2048; do
    r=$(build/bin/cachegen retrieval-eval --context-tokens $ctx --episodes 100 --seed 1000 --json)
    echo "| own line-retrieval template, $ctx-token contexts, 100 episodes |" \
         "\`cachegen retrieval-eval --context-tokens $ctx --episodes 100\` |" \
         "accuracy $(echo "$r" | field accuracy) |"
  done
} | tee "$out/builtin.md"
