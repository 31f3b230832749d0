#!/usr/bin/env bash
# Sets up, builds and runs every test: the release build, then the unit tests again under
# AddressSanitizer + UndefinedBehaviorSanitizer, then each libFuzzer target for 30 s on its
# corpus (CACHEGEN_FUZZ_SECONDS; 0 skips). CI runs exactly this (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo "[test] release build"
scripts/build.sh release
ctest --preset release -j "$(nproc)"
echo "[test] AddressSanitizer + UndefinedBehaviorSanitizer build"
scripts/build.sh sanitize
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --preset sanitize -j "$(nproc)"
seconds=${CACHEGEN_FUZZ_SECONDS:-30}
if [ "$seconds" -gt 0 ]; then
  echo "[test] libFuzzer targets, ${seconds} s each"
  scripts/fuzz.sh "$seconds"
fi
