#!/usr/bin/env bash
# Regenerates the network-model numbers the README shows, into results/netsim/:
#   agreement.md   ns-3 vs the fluid model (slow start on) for 100-BDP transfers on constant links
#   bench.txt/json `netsim_bench`: wall seconds per simulated GB (ns-3), transfers/s (fluid)
# Run after scripts/build.sh. Takes about a minute.
set -euo pipefail
cd "$(dirname "$0")/.."
out=results/netsim
mkdir -p "$out"
{
  echo "| link | RTT | MTU | bytes (100 BDP) | ns-3 done (s) | fluid done (s) | ns-3 / fluid | ns-3 wall (s) |"
  echo "|---|---|---|---:|---:|---:|---:|---:|"
  for case in "1 2 1500" "1 2 9000" "1 10 1500" "0.5 10 1500" "10 2 9000"; do
    read -r gbps rtt mtu <<<"$case"
    bytes=$(python3 -c "print(int(100 * $gbps * 1e9 / 8 * $rtt / 1000))")
    common="--net bandwidth_gbps=$gbps --net rtt_ms=$rtt --bytes $bytes --net mtu=$mtu --json"
    ns3=$(build/bin/cachegen netsim --backend ns3 $common)
    fluid=$(build/bin/cachegen netsim --backend fluid $common --net slow_start=on)
    python3 - "$gbps" "$rtt" "$mtu" "$bytes" "$ns3" "$fluid" <<'PY'
import json, sys
gbps, rtt, mtu, nbytes, ns3, fluid = sys.argv[1:]
a, b = json.loads(ns3), json.loads(fluid)
t_ns3, t_fluid = a["chunks"][-1]["done_s"], b["chunks"][-1]["done_s"]
print(f"| {gbps} Gbps | {rtt} ms | {mtu} | {nbytes} | {t_ns3:.4f} | {t_fluid:.4f} | "
      f"{t_ns3 / t_fluid:.3f} | {a['wall_s']:.2f} |")
PY
  done
} | tee "$out/agreement.md"
build/bin/netsim_bench --benchmark_out="$out/bench.json" --benchmark_out_format=json 2>&1 |
  tee "$out/bench.txt"
