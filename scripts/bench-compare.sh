#!/usr/bin/env bash
# Times the codec hot paths of another revision against this checkout on the same machine (CPU
# speeds drift between machines and days, so a speed-up is only measured side by side):
# builds that revision's codec_bench in a scratch worktree (configured like the release build,
# without CUDA; only codec_bench is compiled), then runs both binaries alternately, REPS times
# each, and prints the medians.
#   scripts/bench-compare.sh REVISION [FILTER] [REPS]
# FILTER: a Google Benchmark regex (default: cachegen-rANS and kvtc encode/decode, one thread).
# Needs this checkout built (scripts/build.sh); takes a few minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
revision=${1:?usage: scripts/bench-compare.sh REVISION [FILTER] [REPS]}
filter=${2:-'BM_(Encode|DecodeInto)/4/0/|BM_KvtcDecodeInto/[01]/0/'}
reps=${3:-3}
scratch=$(mktemp -d)
trap 'git worktree remove --force "$scratch/tree" >/dev/null 2>&1 || true; rm -rf "$scratch"' EXIT
git worktree add --detach "$scratch/tree" "$revision" >/dev/null
torch=()
[ -x .venv/bin/python ] &&
  torch=(-DCMAKE_PREFIX_PATH="$(.venv/bin/python -c 'import torch; print(torch.utils.cmake_prefix_path)')")
cmake -S "$scratch/tree" -B "$scratch/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCACHEGEN_WITH_CUDA=OFF "${torch[@]}" >/dev/null
cmake --build "$scratch/build" --target codec_bench -j "$(nproc)" >/dev/null
for ((i = 0; i < reps; ++i)); do
  for side in old new; do
    binary=build/bin/codec_bench
    [ "$side" = old ] && binary=$scratch/build/bin/codec_bench
    "$binary" --benchmark_filter="$filter" --benchmark_min_time=1 \
      --benchmark_out="$scratch/$side-$i.json" --benchmark_out_format=json >/dev/null 2>&1
  done
done
python3 - "$revision" "$(git rev-parse --short=12 HEAD)" "$scratch" "$reps" <<'PY'
import json, statistics, sys
revision, head, scratch, reps = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
rates = {}
for side in ("old", "new"):
    for i in range(reps):
        for b in json.load(open(f"{scratch}/{side}-{i}.json"))["benchmarks"]:
            key = b["name"].split("/")[0].removeprefix("BM_") + ": " + b["label"]
            rates.setdefault(key, {}).setdefault(side, []).append(b["GB/s"])
print(f"codec_bench, GB/s of fp16 KV, median of {reps} alternating runs: {revision} vs {head}")
print(f"\n| benchmark | {revision} | {head} | ratio |\n|---|---:|---:|---:|")
for label, sides in rates.items():
    if "old" in sides and "new" in sides:
        old, new = statistics.median(sides["old"]), statistics.median(sides["new"])
        print(f"| {label} | {old:.3f} | {new:.3f} | {new / old:.2f}x |")
PY
