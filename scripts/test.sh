#!/usr/bin/env bash
# Sets up, builds and runs every test: the release build (with the CUDA codec when a toolkit is
# installed), then the unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer with
# the CUDA toolkit hidden (scripts/without-cuda-toolkit.sh, as root: so every run proves that a
# machine without one builds and passes), then each libFuzzer target for 30 s on its corpus
# (CACHEGEN_FUZZ_SECONDS; 0 skips). A test that skips fails the script unless the README's
# "Expected skips" table names it (scripts/check_skips.py). CI runs exactly this (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo "[test] release build"
scripts/build.sh release
mkdir -p build
ctest --preset release -j "$(nproc)" 2>&1 | tee build/ctest-release.log
python3 scripts/check_skips.py README.md build/ctest-release.log  # a skip must be an expected one
echo "[test] AddressSanitizer + UndefinedBehaviorSanitizer build, without a CUDA toolkit"
hide=()
if [ "$(id -u)" -eq 0 ] && unshare --mount true 2>/dev/null; then
  hide=(scripts/without-cuda-toolkit.sh)
else
  echo "[test] WARNING: no mount namespace here (needs root): the CUDA toolkit, if any, stays" \
    "visible to this build"
fi
"${hide[@]}" env ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  bash -c 'set -o pipefail; scripts/build.sh sanitize &&
           ctest --preset sanitize -j "$(nproc)" 2>&1 | tee build-sanitize/ctest-sanitize.log'
python3 scripts/check_skips.py README.md build-sanitize/ctest-sanitize.log
seconds=${CACHEGEN_FUZZ_SECONDS:-30}
if [ "$seconds" -gt 0 ]; then
  echo "[test] libFuzzer targets, ${seconds} s each"
  scripts/fuzz.sh "$seconds"
fi
