#!/usr/bin/env python3
"""Plots a bandwidth trace (CSV time_s,bandwidth_mbps, as `cachegen trace gen` writes) to a PNG.

usage: .venv/bin/python scripts/plot_trace.py TRACE.csv OUT.png [--until SECONDS]
"""
import argparse
import csv

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trace")
    parser.add_argument("out")
    parser.add_argument("--until", type=float, default=None, help="last time to show (s)")
    args = parser.parse_args()
    times, rates = [], []
    with open(args.trace) as f:
        rows = [r for r in f if r.strip() and not r.startswith("#")]
    for row in csv.DictReader(rows):
        times.append(float(row["time_s"]))
        rates.append(float(row["bandwidth_mbps"]) / 1000)
    end = args.until if args.until is not None else (times[-1] * 1.1 if times[-1] > 0 else 1.0)
    # The last rate holds forever: draw it to the right edge.
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.step(times + [end], rates + [rates[-1]], where="post")
    ax.set_xlim(0, end)
    ax.set_ylim(0, max(rates) * 1.1)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("bandwidth (Gbps)")
    ax.set_title(args.trace)
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)


if __name__ == "__main__":
    main()
