#!/usr/bin/env bash
# Trains the built-in model from scratch on this machine (about 100 minutes on 2 cores): builds
# the corpus from Debian packages, trains the tokenizer on it and on line-retrieval records, then
# runs the C++ trainer's two stages (configs/models/builtin-stage1.yaml, then builtin.yaml).
# Never run by CI; its output is committed under models/builtin/.
set -euo pipefail
cd "$(dirname "$0")/.."
data=results/builtin-data
scripts/make_corpus.sh
mkdir -p models/builtin
build/bin/cachegen retrieval-text --records 400 --lines 100 --seed 7 > $data/retrieval.txt
.venv/bin/python scripts/train_tokenizer.py 4096 models/builtin/tokenizer.json \
  $data/train.txt $data/retrieval.txt
build/bin/cachegen train configs/models/builtin-stage1.yaml 2>&1 | tee $data/stage1.log
build/bin/cachegen train configs/models/builtin.yaml 2>&1 | tee $data/train.log
