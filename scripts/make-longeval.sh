#!/usr/bin/env bash
# LongEval "lines" test cases from LongChat's official generator (the PyPI wheel
# longchat==0.1.0; its word lists from wonderwords==3.0.1) for line counts that fill 1K, 2K and
# 4K tokens of the built-in model's tokenizer, 100 cases each, seeds 1024 / 2048 / 4096:
# results/longeval/lines-{1024,2048,4096}.jsonl and manifest.json (scripts/make_longeval.py
# says how). The `longchat` dataset and `cachegen retrieval-eval --longeval FILE` read them.
# Deterministic; about a minute. Needs PyPI once (the wheel is kept in .deps/).
set -euo pipefail
cd "$(dirname "$0")/.."
LONGCHAT_VERSION=0.1.0
WONDERWORDS_VERSION=3.0.1
wheel=.deps/longchat-$LONGCHAT_VERSION-py3-none-any.whl
if [ ! -f "$wheel" ]; then
  mkdir -p .deps
  .venv/bin/pip download -q --no-deps -d .deps "longchat==$LONGCHAT_VERSION"
fi
have=$(.venv/bin/python -c "from importlib.metadata import version;print(version('wonderwords'))" 2>/dev/null || true)
[ "$have" = "$WONDERWORDS_VERSION" ] || .venv/bin/pip install -q "wonderwords==$WONDERWORDS_VERSION"
.venv/bin/python scripts/make_longeval.py "$wheel" models/builtin/tokenizer.json results/longeval "$@"
