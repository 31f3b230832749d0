#!/usr/bin/env bash
# Regenerates every paper figure from scratch on the built-in model: builds, makes the held-out
# text (scripts/make_corpus.sh) and the bandwidth traces, runs each configs/paper/*.yaml into
# results/runs/ (fresh), plots results/paper/*.png with a table of numbers beside each, and keeps
# each run's config.yaml, runs.csv and summary.json under results/paper/runs/ (gzipped when
# over 1 MB). About an hour
# on this 2-core machine (the ns-3 SLO subsets are half of it), plus about an hour for context-compression and context-compression-ppl
# (SmolLM2-135M, from scripts/setup.sh). Give figure names to redo only those.

set -euo pipefail
cd "$(dirname "$0")/.."
[ -x build/bin/cachegen ] || scripts/build.sh release
[ -f results/builtin-data/heldout.txt ] || scripts/make_corpus.sh
[ -f results/real-text/documents.txt ] || scripts/make_documents.sh
[ -f results/longeval/lines-2048.jsonl ] || scripts/make-longeval.sh
[ -f results/real-text/smollm2-135m-kv-8k.safetensors ] || scripts/make-paper-kv.sh
for i in 1 2 3 4 5 6 7 8; do
  build/bin/cachegen trace gen --kind uniform --low-gbps 0.1 --high-gbps 10 --interval-s 0.2 \
    --duration-s 30 --seed $i --out configs/paper/traces/uniform-$i.csv
done
[ -f configs/paper/traces/slo/chunk-100.csv ] || scripts/make-slo-traces.sh
# kvtc-size-vs-quality's calibration: line-retrieval records of other seeds than the evaluated.
if [ ! -f results/builtin-data/builtin-pca-l1.kvtc ]; then
  build/bin/cachegen retrieval-text --records 40 --lines 60 --seed 1000 \
    > results/builtin-data/kvtc-calibration.txt
  build/bin/cachegen calibrate --model builtin --window-tokens 1024 \
    --text results/builtin-data/kvtc-calibration.txt --out results/builtin-data/builtin-pca-l1.kvtc
fi
names=("$@")
[ ${#names[@]} -gt 0 ] || names=($(ls configs/paper/*.yaml | xargs -n1 basename | sed 's/\.yaml$//'))
for name in "${names[@]}"; do
  rm -rf "results/runs/$name"
  echo "== $name"
  build/bin/cachegen run "configs/paper/$name.yaml" --out "results/runs/$name"
  mkdir -p "results/paper/runs/$name"
  cp "results/runs/$name/config.yaml" "results/paper/runs/$name/"
  # Large results (the SLO sweeps' 15,000 rows) are kept gzipped.
  for file in runs.csv summary.json; do
    rm -f "results/paper/runs/$name/$file" "results/paper/runs/$name/$file.gz"
    if [ "$(stat -c %s "results/runs/$name/$file")" -gt 1000000 ]; then
      gzip -n -c "results/runs/$name/$file" > "results/paper/runs/$name/$file.gz"
    else
      cp "results/runs/$name/$file" "results/paper/runs/$name/"
    fi
  done
done
# kvtc-size-vs-quality, size-vs-perplexity and the LongEval figures are plotted with 95% bootstrap intervals by the
# real-model plotter; the
# context-compression runs (built-in model and SmolLM2) make one table and figure together.
paper_names=() interval_names=() compression_names=()
for name in "${names[@]}"; do
  case "$name" in
    kvtc-size-vs-quality | size-vs-perplexity | longeval-*) interval_names+=("$name") ;;
    context-compression*) compression_names+=("$name") ;;
    *) paper_names+=("$name") ;;
  esac
done
[ ${#compression_names[@]} -eq 0 ] ||
  .venv/bin/python scripts/plot_compression.py results/runs results/paper "${compression_names[@]}"
[ ${#paper_names[@]} -eq 0 ] ||
  .venv/bin/python scripts/plot_figures.py results/runs results/paper "${paper_names[@]}"
[ ${#interval_names[@]} -eq 0 ] ||
  .venv/bin/python scripts/plot_real_model.py results/runs results/paper "${interval_names[@]}"
