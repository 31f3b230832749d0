#!/usr/bin/env bash
# Builds the libFuzzer targets (preset `fuzz`: clang, ASan + UBSan) and runs each for SECONDS
# (default 30) on its corpus, <module>/fuzz/corpus/<target>/. New inputs go to
# results/fuzz/work/<target>/ (git-ignored; later runs go on from them); a crash, leak or sanitizer report fails the script and leaves the input in
# results/fuzz/: add it to the target's corpus directory, where every build replays it as a
# regression test (ctest fuzz_replay.<target>).
#   scripts/fuzz.sh [SECONDS] [TARGET...]     targets: safetensors container profile trace
#                                            run_config hardware_profile tokenizer model_config
#                                            train_recipe dataset kvtc_calibration
#                                            longeval_cases gpu_decode_rates
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
shift || true
declare -A module=([safetensors]=core [container]=codec [profile]=codec [trace]=netsim
                   [run_config]=experiments [hardware_profile]=experiments [tokenizer]=models
                   [model_config]=models [train_recipe]=models [dataset]=experiments
                   [kvtc_calibration]=codec [longeval_cases]=models
                   [gpu_decode_rates]=experiments)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(safetensors container profile trace run_config hardware_profile
                                     tokenizer model_config train_recipe dataset kvtc_calibration
                                     longeval_cases gpu_decode_rates)
cmake --preset fuzz >/dev/null
cmake --build build-fuzz --target $(printf 'fuzz_%s ' "${targets[@]}")
mkdir -p results/fuzz
for t in "${targets[@]}"; do
  scratch=results/fuzz/work/$t
  mkdir -p "$scratch"
  log=results/fuzz/$t.log
  echo "== fuzz_$t for ${seconds}s (log: $log)"
  set +e
  build-fuzz/bin/fuzz_$t -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 \
    -print_final_stats=1 -artifact_prefix="results/fuzz/$t-" "$scratch" \
    "${module[$t]}/fuzz/corpus/$t" > "$log" 2>&1
  status=$?
  set -e
  grep -E "^(stat::number_of_executed_units|stat::new_units_added|SUMMARY)|ERROR" "$log" || true
  if [ "$status" -ne 0 ]; then
    echo "fuzz_$t failed (exit $status); see $log, the input is in results/fuzz/" >&2
    exit 1
  fi
done
