#!/usr/bin/env python3
"""Compares the runs.csv of two results directories row by row (matched on point and request)
and reports, per config, which columns differ and in how many rows. Measured wall times differ
from run to run by nature; --ignore-timing leaves them out. --rename OLD=NEW maps a column of
the first directory to its name in the second (columns renamed between revisions).

usage: scripts/compare_runs.py DIR_A DIR_B [--ignore-timing] [--rename OLD=NEW ...]
  DIR_A, DIR_B: results/runs-style directories holding NAME/runs.csv, or two runs.csv files.

Example (runs.csv of revision 06ca57c against this one's, whose columns were renamed):
  scripts/compare_runs.py old-runs new-runs --ignore-timing --rename level=encoding_used \\
    --rename codec=codec_used --rename context_tokens=kv_tokens \\
    --rename chunk_levels=chunk_encodings --rename bandwidth_gbps=net.bandwidth_gbps \\
    --rename trace=net.trace --rename rtt_ms=net.rtt_ms
"""
import argparse
import csv
import os
import sys

TIMING = {"ttft_s", "transfer_s", "decode_s", "recompute_s", "prefill_s", "waiting_s", "slo_met",
          "revision"}


def rows(path):
    with open(path, newline="") as f:
        return {(r["point"], r["request"]): r for r in csv.DictReader(f)}


def same(a, b):
    if a == b:
        return True
    try:
        return float(a) == float(b)
    except ValueError:
        return False


def compare(path_a, path_b, ignore, rename):
    a, b = rows(path_a), rows(path_b)
    counts = {}
    for key, row in a.items():
        other = b.get(key)
        if other is None:
            counts["(row missing)"] = counts.get("(row missing)", 0) + 1
            continue
        for column, value in row.items():
            name = rename.get(column, column)
            if column in ignore or name in ignore or (name not in other and value == ""):
                continue
            if name not in other or not same(value, other[name]):
                counts[name] = counts.get(name, 0) + 1
    extra = len(set(b) - set(a))
    if extra:
        counts["(extra rows)"] = extra
    return len(a), counts


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("a")
    parser.add_argument("b")
    parser.add_argument("--ignore-timing", action="store_true")
    parser.add_argument("--rename", action="append", default=[])
    args = parser.parse_args()
    rename = dict(r.split("=", 1) for r in args.rename)
    ignore = TIMING if args.ignore_timing else {"revision"}
    if os.path.isfile(args.a):
        pairs = [(args.a, args.a, args.b)]
    else:
        names = sorted(n for n in os.listdir(args.a)
                       if os.path.isfile(os.path.join(args.a, n, "runs.csv")))
        pairs = [(n, os.path.join(args.a, n, "runs.csv"), os.path.join(args.b, n, "runs.csv"))
                 for n in names]
    differs = False
    for name, path_a, path_b in pairs:
        if not os.path.isfile(path_b):
            print(f"{name}: missing in {args.b}")
            differs = True
            continue
        count, counts = compare(path_a, path_b, ignore, rename)
        differs |= bool(counts)
        detail = ", ".join(f"{c} ({n} rows)" for c, n in sorted(counts.items())) or "none"
        print(f"{name}: {count} rows; columns that differ: {detail}")
    sys.exit(1 if differs else 0)


if __name__ == "__main__":
    main()
