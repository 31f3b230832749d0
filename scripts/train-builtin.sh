#!/usr/bin/env bash
# Trains the built-in model from scratch on this machine (about an hour on 2 cores): builds the
# corpus from Debian packages, trains the tokenizer on it and on line-retrieval records (digits
# in groups of up to three), then runs the C++ trainer's three stages: copying
# (configs/models/builtin-stage1.yaml), retrieval on short records (builtin-stage2.yaml), then
# records growing to 2048 tokens mixed with text (builtin.yaml).
# Never run by CI; its output is committed under models/builtin/.
set -euo pipefail
cd "$(dirname "$0")/.."
data=results/builtin-data
scripts/make_corpus.sh
mkdir -p models/builtin
build/bin/cachegen retrieval-text --records 400 --lines 100 --seed 7 > $data/retrieval.txt
.venv/bin/python scripts/train_tokenizer.py --digit-groups 3100 models/builtin/tokenizer.json \
  $data/train.txt $data/retrieval.txt
build/bin/cachegen train configs/models/builtin-stage1.yaml 2>&1 | tee $data/stage1.log
build/bin/cachegen train configs/models/builtin-stage2.yaml 2>&1 | tee $data/stage2.log
build/bin/cachegen train configs/models/builtin.yaml 2>&1 | tee $data/train.log
