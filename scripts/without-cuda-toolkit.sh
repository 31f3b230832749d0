#!/usr/bin/env bash
# Runs a command as on a machine with no CUDA toolkit: in a private mount namespace, the
# toolkit's directories (/usr/local/cuda*, and those of every nvcc on PATH) are covered by empty
# tmpfs mounts and each nvcc left on PATH by /dev/null, so CMake, nvcc and its headers are truly
# gone for the command (and nothing changes outside it). Fails if nvcc is still found.
#   scripts/without-cuda-toolkit.sh COMMAND [ARGS...]
# Needs root (unshare -m). scripts/test.sh runs its ASan + UBSan build and tests this way, so CI
# proves on every run that a machine without the toolkit builds and passes everything but the
# CUDA codec.
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: scripts/without-cuda-toolkit.sh COMMAND [ARGS...]" >&2; exit 2; }
if [ "${CACHEGEN_IN_NO_CUDA_NAMESPACE:-}" != 1 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "scripts/without-cuda-toolkit.sh: needs root for a mount namespace" >&2
    exit 1
  fi
  exec env CACHEGEN_IN_NO_CUDA_NAMESPACE=1 unshare --mount --propagation private "$0" "$@"
fi
dirs=()
for d in /usr/local/cuda /usr/local/cuda-*; do
  [ -e "$d" ] && dirs+=("$(readlink -f "$d")")
done
while read -r nvcc; do
  [ -n "$nvcc" ] || continue
  real=$(readlink -f "$nvcc")
  # A wrapper script names the real nvcc; cover the toolkit it lives in.
  target=$(grep -oE '/[^ "]*/bin/nvcc' "$real" 2>/dev/null | head -n1 || true)
  [ -n "$target" ] && [ -e "$target" ] && dirs+=("$(readlink -f "$(dirname "$(readlink -f "$target")")/..")")
  [[ "$real" == */bin/nvcc ]] && [ "$(head -c 2 "$real")" != "#!" ] && dirs+=("$(readlink -f "$(dirname "$real")/..")")
done < <(type -ap nvcc || true)
hidden=()
for d in $(printf '%s\n' "${dirs[@]}" | sort -u); do
  [ -d "$d" ] && mount -t tmpfs -o size=1m none "$d" && hidden+=("$d")
done
while read -r nvcc; do
  [ -n "$nvcc" ] && [ -e "$nvcc" ] && mount --bind /dev/null "$nvcc"
done < <(type -ap nvcc || true)
hash -r
nvcc=$(command -v nvcc || true)  # (bash still names a file without execute permission)
if [ -n "$nvcc" ] && [ -f "$nvcc" ] && [ -x "$nvcc" ]; then
  echo "scripts/without-cuda-toolkit.sh: nvcc is still found at $(command -v nvcc)" >&2
  exit 1
fi
echo "[no-cuda] CUDA toolkit hidden (${hidden[*]:-there was none}); running: $*" >&2
exec "$@"
