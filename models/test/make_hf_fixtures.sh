#!/usr/bin/env bash
# The ctest fixture `hf_fixtures`: generates the Hugging Face references once per ctest run
# (see hf_fixtures.h). usage: make_hf_fixtures.sh PYTHON OUT_DIR
set -euo pipefail
python=$1
out=$2
here=$(dirname "$0")
rm -rf "$out"
mkdir -p "$out"
"$python" "$here/make_hf_reference.py" "$out/reference"
"$python" "$here/make_tokenizers.py" "$out/tokenizers"
touch "$out/.done"
