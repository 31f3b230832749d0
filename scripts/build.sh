#!/usr/bin/env bash
# Configures and builds one CMake preset (default: release, into build/). Extra arguments go to
# the configure step, e.g. scripts/build.sh release -DCACHEGEN_WITH_NS3=OFF
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-release}"
shift || true
cmake --preset "$preset" -DCACHEGEN_WARNINGS_AS_ERRORS=ON "$@" >/dev/null
cmake --build --preset "$preset" -j "$(nproc)"
