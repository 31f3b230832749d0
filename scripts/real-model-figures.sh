#!/usr/bin/env bash
# The paper's quality figures on a real pretrained model, SmolLM2-135M (models/smollm2-135m from
# scripts/setup.sh): runs each configs/real-model/*.yaml into results/runs/real-model/<name>/
# with --resume (an interrupted run continues where it stopped; rows run request by request, so
# a partial run has the same contexts behind every point), keeps config.yaml, runs.csv and
# summary.json under results/real-model/runs/, and plots results/real-model/*.png with 95%
# bootstrap intervals and a table beside each. First it makes the offline CacheGen profile of
# cg2-profile from the calibration text (other documents than the evaluated ones). Give config
# names to run only those. Hours on a 2-core CPU (an 8K context takes ~85 s to prefill here);
# see the README.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x build/bin/cachegen ] || scripts/build.sh release
[ -f results/real-text/documents.txt ] || scripts/make_documents.sh
model=smollm2-135m
profile=results/real-text/$model-level2.profile
if [ ! -f "$profile" ]; then
  # Four ~2.4K-token passages of calibration.txt, 2,500 lines apart, prefilled; their KV makes
  # the level-2 tables of 1.5K-token chunks.
  scratch=$(mktemp -d)
  trap 'rm -rf "$scratch"' EXIT
  for i in 0 1 2 3; do
    sed -n "$((1 + i * 2500)),$((220 + i * 2500))p" results/real-text/calibration.txt > "$scratch/p$i.txt"
    build/bin/cachegen kv --model $model --text "$scratch/p$i.txt" --out "$scratch/kv$i.safetensors"
  done
  build/bin/cachegen profile --level 2 --chunk-tokens 1536 --out "$profile.partial" \
    "$scratch"/kv*.safetensors
  mv "$profile.partial" "$profile"
fi
# The kvtc calibrations of kvtc-2k.yaml and kvtc-layers-2k.yaml, from the same calibration text (10 windows of 2K
# tokens): PCA per (layer, kind) with keys un-rotated, and the ablations' variants.
for spec in "pca-l1:" "pca-l1-norope:--rope off" "identity-l1:--transform identity" \
            "pca-l5:--layers-per-basis 5" "pca-l10:--layers-per-basis 10" \
            "pca-l30:--layers-per-basis 30"; do
  calibration=results/real-text/$model-${spec%%:*}.kvtc
  [ -f "$calibration" ] || build/bin/cachegen calibrate --model $model --max-windows 10 \
    --text results/real-text/calibration.txt --out "$calibration" ${spec#*:}
done
names=("$@")
[ ${#names[@]} -gt 0 ] || names=($(ls configs/real-model/*.yaml | xargs -n1 basename | sed 's/\.yaml$//'))
for name in "${names[@]}"; do
  echo "== $name"
  # A fresh checkout goes on from the committed rows (a run left part-way by an earlier session):
  # --resume checks that the config and every input are the same, else it stops and says which.
  if [ ! -f "results/runs/real-model/$name/runs.csv" ] && [ -f "results/real-model/runs/$name/runs.csv" ]; then
    mkdir -p "results/runs/real-model/$name"
    cp "results/real-model/runs/$name"/{config.yaml,runs.csv,provenance.json} "results/runs/real-model/$name/"
  fi
  build/bin/cachegen run "configs/real-model/$name.yaml" --out "results/runs/real-model/$name" --resume
  mkdir -p "results/real-model/runs/$name"
  # provenance.json: the inputs' sha256 (model, tokenizer, documents, profile) and the builds
  # that ran the directory; each row's `revision` names the build that wrote it.
  cp "results/runs/real-model/$name"/{config.yaml,runs.csv,summary.json,provenance.json} \
    "results/real-model/runs/$name/"
  rm -f "results/real-model/runs/$name/provenance.txt"  # (written by earlier versions)
done
.venv/bin/python scripts/plot_real_model.py results/runs/real-model results/real-model "${names[@]}"
