#!/usr/bin/env python3
"""Turns codec_bench's JSON (Google Benchmark) into the Markdown table the README shows.

usage: scripts/bench_table.py results/codec/bench.json > results/codec/bench.md
"""
import json
import sys


def main(path):
    with open(path) as f:
        data = json.load(f)
    rows = {}  # label without thread suffix -> {(op, threads): gbps}, bits
    order = []
    for b in data["benchmarks"]:
        label = b.get("label", "")
        threads = "all" if label.endswith("all-threads") else "1"
        name = label.rsplit(" ", 1)[0]
        op = "encode" if "Encode" in b["name"] else "decode"
        if name not in rows:
            rows[name] = {"bits": b["bits/el"]}
            order.append(name)
        rows[name][(op, threads)] = b["GB/s"]
    ctx = data["context"]
    print(f"codec_bench on {ctx.get('num_cpus')} CPUs at {ctx.get('mhz_per_cpu')} MHz, "
          f"{ctx.get('date')}; GB/s of fp16 KV (2 bytes per element)\n")
    print("| codec | bits/el | encode 1 thread | encode all | decode 1 thread | decode all |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in order:
        r = rows[name]
        cells = [f"{r.get((op, t), float('nan')):.3f}"
                 for op in ("encode", "decode") for t in ("1", "all")]
        print(f"| {name} | {r['bits']:.3f} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1])
