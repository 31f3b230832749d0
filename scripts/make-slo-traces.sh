#!/usr/bin/env bash
# The SLO figure's bandwidth traces (configs/paper/traces/slo/), 100 of each style, i.i.d.
# Uniform[0.1, 10] Gbps as in the reference's trace_generator.py:
#   interval-NNN.csv  a new rate every 0.2 s for 30 s (net.trace_clock: time)
#   chunk-NNN.csv     a new rate per chunk, 16 chunks (net.trace_clock: chunk; the time column
#                     counts chunks), as the reference draws one bandwidth per chunk
# Trace NNN of both styles uses seed NNN, so both start from the same draws. Deterministic.
set -euo pipefail
cd "$(dirname "$0")/.."
out=configs/paper/traces/slo
mkdir -p "$out"
for i in $(seq 1 100); do
  n=$(printf '%03d' "$i")
  build/bin/cachegen trace gen --kind uniform --low-gbps 0.1 --high-gbps 10 --interval-s 0.2 \
    --duration-s 30 --seed "$i" --out "$out/interval-$n.csv"
  build/bin/cachegen trace gen --kind uniform --low-gbps 0.1 --high-gbps 10 --interval-s 1 \
    --duration-s 16 --seed "$i" --out "$out/chunk-$n.csv"
done
