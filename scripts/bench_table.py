#!/usr/bin/env python3
"""Turns codec_bench's JSON (Google Benchmark) into the Markdown tables the README shows: per
codec, encode / decode / decode_into GB/s on 1 and all threads; then the rANS coder alone. With
repetitions, each cell is the median over them (this machine's speed drifts between runs).

usage: scripts/bench_table.py results/codec/bench.json [more.json...] > results/codec/bench.md
(later files add rows: scripts/codec-tables.sh adds kvtc on a real model's KV)
"""
import json
import sys

OPS = (("BM_Encode", "encode"), ("BM_DecodeInto", "decode_into"), ("BM_Decode", "decode"),
       ("BM_KvtcEncode", "encode"), ("BM_KvtcDecodeInto", "decode_into"))


def op_of(name):
    for prefix, op in OPS:
        if name.startswith(prefix + "/"):
            return op
    return None


def medians(data):
    benchmarks = data["benchmarks"]
    if any(b.get("aggregate_name") == "median" for b in benchmarks):
        benchmarks = [b for b in benchmarks if b.get("aggregate_name") == "median"]
    return benchmarks


def main(paths):
    files = []
    for path in paths:
        with open(path) as f:
            files.append(json.load(f))
    data = files[0]
    rows, order, coder, synthesis = {}, [], [], []
    for b in [b for f in files for b in medians(f)]:
        label = b.get("label", "")
        if b["name"].startswith("BM_Rans"):
            coder.append((label, b["GB/s"], b["bits/el"]))
            continue
        if b["name"].startswith("BM_KvtcSynthesis"):
            synthesis.append((label, b["GB/s"]))
            continue
        op = op_of(b["name"])
        if op is None:  # zstd rows carry their own names below
            op = "encode" if "Encode" in b["name"] else "decode"
        threads = "all" if label.endswith("all-threads") else "1"
        name = label.rsplit(" ", 1)[0]
        if name not in rows:
            rows[name] = {"bits": b["bits/el"]}
            order.append(name)
        rows[name][(op, threads)] = b["GB/s"]
    ctx = data["context"]
    reps = data["benchmarks"][0].get("repetitions", 1)
    print(f"codec_bench on {ctx.get('num_cpus')} CPUs at {ctx.get('mhz_per_cpu')} MHz, "
          f"{ctx.get('date')}, revision {ctx.get('cachegen_revision', '?')}"
          f"{'+dirty' if ctx.get('cachegen_dirty') == 'true' else ''}; GB/s of fp16 KV "
          f"(2 bytes per element); median of {reps} repetitions\n")
    print("| codec | bits/el | encode 1 thread | encode all | decode 1 thread | decode all | "
          "decode_into 1 thread | decode_into all |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name in order:
        r = rows[name]
        cells = []
        for op in ("encode", "decode", "decode_into"):
            for t in ("1", "all"):
                v = r.get((op, t))
                cells.append("" if v is None else f"{v:.3f}")
        print(f"| {name} | {r['bits']:.3f} | " + " | ".join(cells) + " |")
    if any(name.startswith("kvtc") for name in order):
        print("\nkvtc rows: a SmolLM2-135M-shaped chunk (1536 tokens, 30 layers, 3 x 64), f16, "
              "1.35 bits per coded element; pca: one basis per (layer, kind), d = 192. "
              "synthetic-kv: the synthetic generator's KV, the basis calibrated on another "
              "synthetic sample; real-kv: SmolLM2-135M's KV of a held-out document, the basis "
              "`cachegen calibrate`d on the calibration texts (scripts/codec-tables.sh).")
    if synthesis:
        print("\nkvtc's inverse transform alone (1536 tokens x 160 coded components -> d = 192, "
              "half the coefficients zero), one thread, per kernel:\n")
        print("| kernel | GB/s of fp16 KV |")
        print("|---|---:|")
        for label, gbps in synthesis:
            print(f"| {label} | {gbps:.3f} |")
    if coder:
        print("\nThe rANS coder alone (4 streams of 1536 x 128 level-2 key symbols of layer 0, "
              "31-symbol alphabet, 32 lanes), one thread:\n")
        print("| kernel | GB/s of fp16 KV | bits/symbol |")
        print("|---|---:|---:|")
        for label, gbps, bits in coder:
            print(f"| {label} | {gbps:.3f} | {bits:.3f} |")


if __name__ == "__main__":
    main(sys.argv[1:])
