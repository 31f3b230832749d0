#!/usr/bin/env bash
# Trains the built-in model from scratch on this machine (about 80 minutes on 2 cores): builds
# the corpus from Debian packages, trains the tokenizer on it and on line-retrieval records
# (digits in groups of up to three), then runs the C++ trainer's four stages: copying
# (configs/models/builtin-stage1.yaml), retrieval on short records (builtin-stage2.yaml),
# records growing to 2048 tokens mixed with text (builtin-stage3.yaml), then LongChat's
# official LongEval prompts (builtin.yaml), whose training cases LongChat's own generator makes
# here with seeds that no evaluated set of scripts/make-longeval.sh uses.
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
build/bin/cachegen train configs/models/builtin-stage3.yaml 2>&1 | tee $data/stage3.log
scripts/make-longeval.sh --train-out $data/longeval-train.jsonl
build/bin/cachegen train configs/models/builtin.yaml 2>&1 | tee $data/train.log
