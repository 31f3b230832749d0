#!/usr/bin/env bash
# Configures and builds one CMake preset (default: release, into build/). Extra arguments go to
# the configure step, e.g. scripts/build.sh release -DCACHEGEN_WITH_NS3=OFF
# The release and debug builds include the CUDA codec (codec/cuda) when nvcc is found (on PATH or
# in /usr/local/cuda); CACHEGEN_CUDA=off leaves it out, CACHEGEN_CUDA=on requires it.
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-release}"
shift || true
cuda=()
if [ "$preset" = release ] || [ "$preset" = debug ]; then
  nvcc=$(command -v nvcc || true)
  [ -n "$nvcc" ] && { [ -f "$nvcc" ] && [ -x "$nvcc" ] || nvcc=""; }  # (a hidden one: not a program)
  [ -z "$nvcc" ] && [ -x /usr/local/cuda/bin/nvcc ] && nvcc=/usr/local/cuda/bin/nvcc
  case "${CACHEGEN_CUDA:-auto}" in
    off) cuda=(-DCACHEGEN_WITH_CUDA=OFF) ;;
    on | auto)
      if [ -n "$nvcc" ]; then
        cuda=(-DCACHEGEN_WITH_CUDA=ON -DCMAKE_CUDA_COMPILER="$nvcc")
      elif [ "${CACHEGEN_CUDA:-auto}" = on ]; then
        echo "scripts/build.sh: CACHEGEN_CUDA=on but no nvcc (PATH or /usr/local/cuda/bin)" >&2
        exit 1
      else
        echo "[build] no nvcc: building without the CUDA codec" >&2
        cuda=(-DCACHEGEN_WITH_CUDA=OFF)
      fi
      ;;
    *) echo "scripts/build.sh: CACHEGEN_CUDA must be auto, on or off" >&2; exit 1 ;;
  esac
fi
cmake --preset "$preset" -DCACHEGEN_WARNINGS_AS_ERRORS=ON "${cuda[@]}" "$@" >/dev/null
cmake --build --preset "$preset" -j "$(nproc)"
