#!/usr/bin/env bash
# Builds the built-in model's text corpus from Debian packages (toolchain-notes.md §5), into
# results/builtin-data/ (git-ignored):
#   train.txt    KJV Bible (public domain) Genesis-Jude, the Jargon File (public domain), fortunes
#                (BSD) except the held-out files
#   heldout.txt  text never trained on: KJV Revelation, and the fortunes files "science" and
#                "wisdom"
# Installs the packages it reads if they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
out=results/builtin-data
mkdir -p "$out"
missing=()
for p in bible-kjv bible-kjv-text fortunes fortunes-min jargon-text; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "[corpus] installing ${missing[*]}"
  apt-get install -y -q "${missing[@]}" >/dev/null
fi
# Verse numbers and book headers stripped: one verse per line.
kjv() { bible "$1" | sed -E 's/^ +[0-9]+ //; /^[A-Z0-9][A-Za-z0-9 ]* [0-9]+$/d; /^$/d'; }
{
  kjv "Genesis1:1-Jude1:25"
  zcat /usr/share/doc/jargon-text/jargon.txt.gz
  for f in /usr/share/games/fortunes/*; do
    case "$f" in *.dat|*.u8|*/science|*/wisdom) continue ;; esac
    [ -f "$f" ] && cat "$f"
  done
} > "$out/train.txt"
{
  kjv "Revelation1:1-22:21"
  cat /usr/share/games/fortunes/science /usr/share/games/fortunes/wisdom
} > "$out/heldout.txt"
wc -c "$out"/train.txt "$out"/heldout.txt
