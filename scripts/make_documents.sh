#!/usr/bin/env bash
# Builds the real-model text corpus from Debian-packaged documents into results/real-text/
# (git-ignored). None of it is in the built-in model's training corpus (scripts/make_corpus.sh:
# KJV Bible, Jargon File, fortunes); SmolLM2 may have seen copies of them on the web, which
# does not matter for comparing codecs on the same contexts.
#   documents.txt    evaluation text (needle haystacks, perplexity contexts): the Debian Policy
#                    Manual (debian-policy) and the Debian Developer's Reference
#                    (developers-reference, its reStructuredText sources)
#   calibration.txt  text for offline profiles and calibration, disjoint from documents.txt: the
#                    GNU Coding Standards and the GNU maintainers' guide (gnu-standards, Info
#                    files without their index markers) and the Filesystem Hierarchy Standard 3.0
#                    (debian-policy)
# Installs the packages it reads if they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
out=results/real-text
mkdir -p "$out"
missing=()
for p in debian-policy developers-reference gnu-standards; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "[documents] installing ${missing[*]}"
  apt-get install -y -q "${missing[@]}" >/dev/null
fi
{
  zcat /usr/share/doc/debian-policy/policy.txt.gz
  cat /usr/share/developers-reference/_sources/*.rst.txt
} > "$out/documents.txt.partial"
{
  for f in /usr/share/info/standards.info.gz /usr/share/info/maintain.info.gz; do
    zcat "$f" | tr -d '\037\010\177'
  done
  zcat /usr/share/doc/debian-policy/fhs/fhs-3.0.txt.gz
} > "$out/calibration.txt.partial"
mv "$out/documents.txt.partial" "$out/documents.txt"
mv "$out/calibration.txt.partial" "$out/calibration.txt"
wc -c "$out"/documents.txt "$out"/calibration.txt
