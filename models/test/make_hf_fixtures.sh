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
# The real checkpoint, when scripts/setup.sh made it (smollm2_reference_test.cpp says if not).
smollm2="$here/../smollm2-135m"
if [ -f "$smollm2/config.json" ]; then
  "$python" "$here/make_smollm2_reference.py" "$smollm2" "$out/smollm2"
fi
touch "$out/.done"
