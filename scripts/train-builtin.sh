#!/usr/bin/env bash
# Trains the built-in model from scratch on this machine (about 45 minutes on 2 cores): builds
# the corpus from Debian packages, trains the tokenizer, then runs the C++ trainer on
# configs/models/builtin.yaml. Never run by CI; its output is committed under models/builtin/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/make_corpus.sh
mkdir -p models/builtin
.venv/bin/python scripts/train_tokenizer.py results/builtin-data/train.txt 4096 models/builtin/tokenizer.json
build/bin/cachegen train configs/models/builtin.yaml 2>&1 | tee results/builtin-data/train.log
