#!/usr/bin/env python3
"""Turns sweep results (results/runs/<name>/runs.csv from `cachegen run configs/paper/<name>.yaml`)
into the paper's figures, results/figures/<name>.png, and a markdown table of the plotted numbers
beside each, results/figures/<name>.md.

usage: .venv/bin/python scripts/plot_figures.py [RUNS_DIR] [OUT_DIR] [NAME ...]
"""
import csv
import json
import os
import sys
from collections import OrderedDict, defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


RUNS_DIR = "results/runs"


def load(runs_dir, name):
    path = os.path.join(runs_dir, name, "runs.csv")
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def mean(values):
    values = [float(v) for v in values if v != ""]
    return sum(values) / len(values) if values else float("nan")


def group(rows, *keys):
    """Rows grouped by the values of `keys`, in first-seen order."""
    out = OrderedDict()
    for row in rows:
        out.setdefault(tuple(row[k] for k in keys), []).append(row)
    return out


def label(row):
    """A fixed controller by its encoding, any other by its name."""
    fixed = row["encoding"] or row["controller"].startswith("fixed")
    return row["encoding_used"] if fixed else row["controller"]


def quality(rows):
    for metric in ("accuracy", "f1", "perplexity"):
        if any(r[metric] != "" for r in rows):
            return metric, mean(r[metric] for r in rows)
    return "kv_relative_error", mean(r["kv_relative_error"] for r in rows)


def error_bars(estimates):
    """matplotlib's yerr (distances below and above) of (value, low, high) estimates."""
    return [[e[0] - e[1] for e in estimates], [e[2] - e[0] for e in estimates]]


def save(fig, out):
    fig.tight_layout()
    fig.savefig(out + ".png", dpi=120)
    plt.close(fig)


def table(path, header, lines):
    with open(path, "w") as f:
        f.write("| " + " | ".join(header) + " |\n|" + "---|" * len(header) + "\n")
        for line in lines:
            f.write("| " + " | ".join(str(x) for x in line) + " |\n")


def nominal(row):
    """A row at the hardware profile's own numbers (not a sensitivity setting)."""
    return (float(row.get("prefill_efficiency") or 0) == 0
            and float(row.get("decode_time_scale") or 1) == 1)


def ttft_vs_bandwidth(rows, out):
    """TTFT per method and bandwidth at the profile's numbers; where the run swept
    prefill_efficiency and decode_time_scale, the band spans every such setting (the profile's
    assumptions: prefill at 35-70% of peak, decode times 0.5-1.5x)."""
    fig, ax = plt.subplots(figsize=(6, 4))
    series, bands = defaultdict(list), defaultdict(list)
    for (controller, bw), rs in group(rows, "controller", "net.bandwidth_gbps").items():
        mid = [r for r in rs if nominal(r)]
        ttfts = [float(r["ttft_s"]) for r in rs]
        series[label(mid[0])].append((float(bw), mean(r["ttft_s"] for r in mid)))
        bands[label(mid[0])].append((float(bw), min(ttfts), max(ttfts)))
    swept = any(not nominal(r) for r in rows)
    bandwidths = sorted({float(r["net.bandwidth_gbps"]) for r in rows})
    contexts = len({r["seed"] for r in rows})
    for name, points in series.items():
        points.sort()
        line, = ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=name)
        if swept:
            band = sorted(bands[name])
            ax.fill_between([b[0] for b in band], [b[1] for b in band], [b[2] for b in band],
                            color=line.get_color(), alpha=0.15, lw=0)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("bandwidth (Gbps)")
    ax.set_ylabel("TTFT (s)")
    source = ("real KV tiled to the model's shape" if any("kv=" in r["model"] for r in rows)
              else "synthetic KV")
    title = f"{contexts} context(s) per point ({source}: one TTFT, no sampling interval)"
    if swept:
        title += "\nband: prefill at 35-70% of peak, decode times 0.5-1.5x"
    ax.set_title(title, fontsize=8)
    ax.legend()
    ax.grid(alpha=0.3)
    save(fig, out)
    lines = []
    for name, points in series.items():
        by_bw = dict(points)
        band = {b[0]: b[1:] for b in bands[name]}
        lines.append([name] + [f"{by_bw.get(b, float('nan')):.3f}" +
                               (f" [{band[b][0]:.3f}, {band[b][1]:.3f}]" if swept else "")
                               for b in bandwidths])
    table(out + ".md", ["method"] + [f"{b:g} Gbps" for b in bandwidths], lines)
    if swept:
        with open(out + ".md", "a") as f:
            f.write("\nTTFT (s) at the hardware profile's numbers, [lowest, highest] over prefill "
                    "efficiency 35-70% of peak and decode times 0.5-1.5x. "
                    f"{contexts} context(s) per point.\n")


def wilson(successes, n, z=1.96):
    """95% Wilson score interval of a rate (successes of n; n may be an effective size)."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / (1 + z * z / n)
    return (0.0 if successes == 0 else max(0.0, centre - half),
            1.0 if successes == n else min(1.0, centre + half))


def clustered_violations(rows):
    """SLO violation rate of rows and its 95% interval, as summary.json's pooled entries give
    it (runner.cpp, add_violations): the rows of one point (one trace, all its contexts) are a
    cluster; Wilson's interval on n / deff, Kish's design effect from the clusters' spread,
    within [1, mean cluster size], the cluster count at a rate of 0 or 1.
    Returns (rate, low, high, effective n, requests, clusters)."""
    clusters = defaultdict(list)
    for r in rows:
        clusters[r["point"]].append(1 - int(r["slo_met"]))
    n = sum(len(c) for c in clusters.values())
    rate = sum(sum(c) for c in clusters.values()) / n
    k = len(clusters)
    m = n / k
    deff = m
    if 0 < rate < 1 and k > 1:
        spread = sum((sum(c) / len(c) - rate) ** 2 for c in clusters.values()) / (k - 1)
        deff = min(max(spread / (rate * (1 - rate) / m), 1.0), max(1.0, m))
    effective = n / deff
    low, high = wilson(rate * effective, effective)
    return rate, low, high, effective, n, k


def violation_figure(rows, out, series_of, title=""):
    """SLO violation rate (95% intervals, clustered by point) and KV error vs SLO, one line per
    series_of(row)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    series = defaultdict(list)
    tagged = [dict(r, series=series_of(r)) for r in rows]
    for (name, slo), rs in group(tagged, "series", "slo_s").items():
        series[name].append((float(slo), clustered_violations(rs),
                             mean(r["kv_relative_error"] for r in rs),
                             mean(r["ttft_s"] for r in rs)))
    slos = sorted({float(r["slo_s"]) for r in rows})
    for name, points in series.items():
        points.sort()
        x = [p[0] for p in points]
        rate = [100 * p[1][0] for p in points]
        err = [[r - 100 * p[1][1] for r, p in zip(rate, points)],
               [100 * p[1][2] - r for r, p in zip(rate, points)]]
        axes[0].errorbar(x, rate, yerr=err, marker="o", capsize=3, label=name)
        axes[1].plot(x, [p[2] for p in points], marker="o", label=name)
    traces = len({r.get("net.trace", "") for r in rows})
    contexts = len({r["seed"] for r in rows})
    requests = sorted({p[1][4] for points in series.values() for p in points})
    axes[0].set_title(f"{title}{'/'.join(map(str, requests))} requests per point "
                      f"({traces} traces x {contexts} contexts), 95% intervals", fontsize=9)
    axes[0].set_xlabel("SLO (s)")
    axes[0].set_ylabel("SLO violations (% of requests)")
    axes[1].set_xlabel("SLO (s)")
    axes[1].set_ylabel("KV relative error (quality loss)")
    axes[0].legend(fontsize=8)
    for ax in axes:
        ax.grid(alpha=0.3)
    save(fig, out)
    lines = []
    for name, points in series.items():
        by = {p[0]: p for p in points}
        cells = []
        for s in slos:
            _, (rate, lo, hi, _, _, _), error, ttft = by[s]
            cells.append(f"{100 * rate:.0f}% [{100 * lo:.0f}, {100 * hi:.0f}] / {error:.3f} / "
                         f"{ttft:.2f} s")
        lines.append([name] + cells)
    table(out + ".md", ["method (violations [95% CI] / KV error / mean TTFT)"] +
          [f"SLO {s:g} s" for s in slos], lines)
    with open(out + ".md", "a") as f:
        f.write(f"\n{'/'.join(map(str, requests))} requests per cell: {traces} traces x "
                f"{contexts} contexts. Intervals: Wilson's on the effective sample size (the "
                "requests of one trace are clustered; Kish's design effect from the traces' "
                "spread), as summary.json's `pooled` entries give them.\n")


def slo_violation(rows, out):
    violation_figure(rows, out, label, "bandwidth per 0.2 s: ")


def slo_violation_per_chunk(rows, out):
    violation_figure(rows, out, label, "bandwidth per chunk: ")


def adaptive_controller(rows, out):
    """The controller on the paper's store (CacheGen levels) and with quant8 added."""
    def series_of(row):
        store = "levels" if row["codec"] == "cachegen" else "levels + quant8"
        return f"{store}: {row['controller']}"
    violation_figure(rows, out, series_of)


def ns3_ttft_agreement(rows, out):
    """ttft-vs-bandwidth's points on ns-3 beside the fluid model's (the ttft-vs-bandwidth run in
    the same runs directory): TTFT on each and their ratio, per controller and bandwidth."""
    fluid = {(label(r), float(r["net.bandwidth_gbps"])): float(r["ttft_s"])
             for r in load(RUNS_DIR, "ttft-vs-bandwidth") if nominal(r)}
    fig, ax = plt.subplots(figsize=(7, 4))
    series, lines = defaultdict(list), []
    for r in rows:
        key = (label(r), float(r["net.bandwidth_gbps"]))
        if key not in fluid:
            continue
        ratio = float(r["ttft_s"]) / fluid[key]
        series[key[0]].append((key[1], ratio))
        lines.append((key[0], f"{key[1]:g}", f"{fluid[key]:.3f}", f"{float(r['ttft_s']):.3f}",
                      f"{ratio:.3f}"))
    for name, points in series.items():
        points.sort()
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=name)
    ax.axhline(1, color="gray", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("bandwidth (Gbps)")
    ax.set_ylabel("TTFT on ns-3 / TTFT on the fluid model")
    source = "real KV tiled" if any("kv=" in r["model"] for r in rows) else "synthetic KV"
    ax.set_title(f"1 context ({source}, Mistral-7B shape) per point: deterministic, no interval",
                 fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    save(fig, out)
    table(out + ".md", ["method", "Gbps", "fluid TTFT (s)", "ns-3 TTFT (s)", "ns-3 / fluid"],
          lines)


def ns3_slo_agreement(rows, out):
    """slo-violation's first context on its first traces, on ns-3 beside the fluid model (the
    slo-violation run): violations of the same requests on each, and the TTFT ratio."""
    def key(r):
        return (label(r), float(r["slo_s"]), r["net.trace"], r["seed"])
    from plot_real_model import bootstrap, fmt, mean_of  # (imports this module)
    fluid = {key(r): r for r in load(RUNS_DIR, "slo-violation")}
    lines, estimates = [], []

    def series(r):  # a run that sweeps the queue's size names it (slo-violation-ns3-queue)
        queue = r.get("net.queue_packets", "")
        return label(r) + (f", queue {queue} pkts" if queue else "")
    groups = group([dict(r, series=series(r)) for r in rows], "series", "slo_s")
    for (name, slo), rs in groups.items():
        pairs = [(fluid[key(r)], r) for r in rs if key(r) in fluid]
        missed_fluid = sum(1 - int(f["slo_met"]) for f, _ in pairs)
        missed_ns3 = sum(1 - int(n["slo_met"]) for _, n in pairs)
        ratios = [float(n["ttft_s"]) / float(f["ttft_s"]) for f, n in pairs]
        ordered = sorted(ratios)
        # The mean ratio with a 95% bootstrap interval over the traces.
        mean_ratio = bootstrap(range(len(ratios)), mean_of(ratios))
        estimates.append(mean_ratio)
        lines.append((name, slo, len(pairs), f"{missed_fluid}", f"{missed_ns3}",
                      f"{ordered[len(ordered) // 2]:.3f}", fmt(mean_ratio, 3),
                      f"{ordered[0]:.3f}-{ordered[-1]:.3f}"))
    # One bar per (method, SLO): the mean TTFT ratio and its 95% interval over the traces.
    fig, ax = plt.subplots(figsize=(max(7, 1.2 * len(lines)), 4))
    ax.bar(range(len(lines)), [e[0] for e in estimates], yerr=error_bars(estimates), capsize=4)
    ax.set_xticks(range(len(lines)))
    ax.set_xticklabels([f"{l[0]}\nSLO {float(l[1]):g} s" for l in lines], fontsize=8)
    ax.axhline(1, color="gray", lw=0.8)
    ax.set_ylabel("mean TTFT ratio, ns-3 / fluid")
    ax.set_title(f"{lines[0][2] if lines else 0} traces x 1 context per bar, 95% bootstrap "
                 f"intervals over traces", fontsize=9)
    ax.grid(alpha=0.3, axis="y")
    save(fig, out)
    table(out + ".md", ["method", "SLO (s)", "requests", "violations, fluid",
                        "violations, ns-3", "median TTFT ns-3 / fluid",
                        "mean TTFT ns-3 / fluid [95% CI over traces]", "range"], lines)


def paper_kv_sizes(rows, out):
    """Bits per element and KV relative error per encoding at paper scale, from the synthetic
    generator and from real KV tiled to the same shape: mean over the contexts and a 95%
    bootstrap interval (scripts/plot_real_model.py's)."""
    from plot_real_model import bootstrap, by_request, fmt, mean_of  # (imports this module)
    sources = list(OrderedDict.fromkeys(r["model"] for r in rows))
    names = {s: ("generator" if s == "synthetic" else "real KV, tiled") for s in sources}
    fig, ax = plt.subplots(figsize=(7, 4))
    encodings = list(OrderedDict.fromkeys(r["encoding_used"] for r in rows))
    width = 0.8 / len(sources)
    lines, contexts = [], set()
    for i, source in enumerate(sources):
        bits = []
        for encoding in encodings:
            rs = [r for r in rows if r["model"] == source and r["encoding_used"] == encoding]
            contexts.add(len(rs))
            b = by_request(rs, "bits_per_element")
            e = by_request(rs, "kv_relative_error")
            bits.append(bootstrap(b, mean_of(b)))
            lines.append((names[source], encoding, rs[0]["codec_used"], fmt(bits[-1], 4),
                          fmt(bootstrap(e, mean_of(e)), 3), len(rs)))
        ax.bar([x + i * width for x in range(len(encodings))], [b[0] for b in bits], width,
               yerr=error_bars(bits),
               label=names[source])
    ax.set_xticks([x + width * (len(sources) - 1) / 2 for x in range(len(encodings))])
    ax.set_xticklabels(encodings)
    ax.set_ylabel("bits per KV element")
    ax.set_title(f"Mistral-7B shape, 9.4K tokens; {'/'.join(map(str, sorted(contexts)))} "
                 "contexts per bar, 95% bootstrap intervals", fontsize=8)
    ax.legend()
    ax.grid(alpha=0.3, axis="y")
    save(fig, out)
    table(out + ".md", ["KV source", "encoding", "codec", "bits/element", "KV relative error",
                        "contexts"], lines)


def codec_ablation(rows, out):
    """CacheGen's steps one at a time: bits per element (bars, 95% bootstrap intervals over the
    contexts) and quality, KL and KV error, each with its interval in the table."""
    from plot_real_model import bootstrap, by_request, fmt, mean_of  # (imports this module)
    fig, ax = plt.subplots(figsize=(7, 4))
    names, bits, lines, contexts = [], [], [], set()
    metric, _ = quality(rows)
    for (encoding,), rs in group(rows, "encoding_used").items():
        names.append(encoding)
        contexts.add(len(rs))
        estimate = {c: bootstrap(v, mean_of(v)) for c in ("bits_per_element", metric, "kl",
                                                          "kv_relative_error")
                    for v in [by_request(rs, c)] if v}
        bits.append(estimate["bits_per_element"])
        lines.append((encoding, rs[0]["codec_used"], fmt(bits[-1], 4),
                      fmt(estimate[metric], 3) if metric in estimate else "-",
                      fmt(estimate["kl"], 3) if "kl" in estimate else "-",
                      fmt(estimate["kv_relative_error"], 3), len(rs)))
    bars = ax.bar(names, [b[0] for b in bits],
                  yerr=error_bars(bits))
    for bar, line in zip(bars, lines):
        ax.annotate(f"{metric[:3]} {line[3].split()[0]}",
                    (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center", va="bottom", fontsize=8)
    ax.set_ylabel("bits per KV element")
    ax.set_title(f"{'/'.join(map(str, sorted(contexts)))} contexts per bar, "
                 "95% bootstrap intervals", fontsize=9)
    ax.grid(alpha=0.3, axis="y")
    save(fig, out)
    table(out + ".md", ["step", "codec", "bits/element [95%]", f"{metric} [95%]", "KL [95%]",
                        "KV rel. error [95%]", "contexts"], lines)


def decode_vs_transfer(rows, out):
    """Decode (measured on this CPU) and transfer seconds per context, per encoding and
    bandwidth: means over the contexts with 95% bootstrap intervals."""
    from plot_real_model import bootstrap, by_request, fmt, mean_of  # (imports this module)
    fig, ax = plt.subplots(figsize=(8, 4))
    groups = group(rows, "encoding_used", "net.bandwidth_gbps")
    labels, decode, transfer, lines, contexts = [], [], [], [], set()
    for (encoding, bw), rs in groups.items():
        labels.append(f"{encoding}\n{bw} Gbps")
        contexts.add(len(rs))
        d, t = by_request(rs, "decode_s"), by_request(rs, "transfer_s")
        decode.append(bootstrap(d, mean_of(d)))
        transfer.append(bootstrap(t, mean_of(t)))
        lines.append((encoding, bw, fmt(decode[-1], 3), fmt(transfer[-1], 3), len(rs)))
    x = range(len(labels))
    for shift, series, name in ((-0.2, decode, "decode (CPU, measured)"),
                                (0.2, transfer, "transfer")):
        ax.bar([i + shift for i in x], [v[0] for v in series], width=0.4, label=name,
               yerr=error_bars(series))
    ax.set_xticks(list(x))
    ax.set_xticklabels(labels, fontsize=7)
    ax.set_ylabel("seconds per context")
    ax.set_title(f"{'/'.join(map(str, sorted(contexts)))} contexts per bar, "
                 "95% bootstrap intervals", fontsize=9)
    ax.legend()
    ax.grid(alpha=0.3, axis="y")
    save(fig, out)
    table(out + ".md", ["encoding", "Gbps", "decode s [95%]", "transfer s [95%]", "contexts"],
          lines)


FIGURES = OrderedDict([
    ("ttft-vs-bandwidth", ttft_vs_bandwidth),
    ("slo-violation", slo_violation),
    ("slo-violation-per-chunk", slo_violation_per_chunk),
    ("ttft-vs-bandwidth-ns3", ns3_ttft_agreement),
    ("slo-violation-ns3", ns3_slo_agreement),
    ("slo-violation-ns3-queue", ns3_slo_agreement),
    ("adaptive-controller", adaptive_controller),
    # CacheGen's controller under its three text rules: the SLO figures' tables and plots.
    ("controller-text-rule", slo_violation),
    ("controller-text-rule-per-chunk", slo_violation_per_chunk),
    ("paper-kv-sizes", paper_kv_sizes),
    ("codec-ablation", codec_ablation),
    ("decode-vs-transfer", decode_vs_transfer),
])


def append_provenance(md_path, run_dir, rows):
    """Appends to a figure's table what produced it: the revisions that wrote its rows (the
    runs.csv column; "+dirty": built from a modified tree) and, from the run's provenance.json,
    the sha256 of every input file and the library versions."""
    revisions = {}
    for r in rows:
        revisions[r["revision"]] = revisions.get(r["revision"], 0) + 1
    lines = ["", "Provenance: rows by revision: " +
             ", ".join(f"{rev} ({n})" for rev, n in sorted(revisions.items())) + "."]
    path = os.path.join(run_dir, "provenance.json")
    if os.path.exists(path):
        with open(path) as f:
            provenance = json.load(f)
        builds = "; ".join(f"{b['revision']}{'+dirty' if b['dirty'] else ''} ({b['compiler']}, "
                           f"torch {b['torch']}, ns-3 {b['ns3']})" for b in provenance["builds"])
        lines.append(f"Builds that ran it: {builds}.")
        for name, digest in provenance["inputs"].items():
            lines.append(f"- `{name}`: sha256 `{digest}`")
        # A run resumed with --accept-changed-inputs: which inputs were different before.
        for change in provenance.get("input_changes", []):
            before = ", ".join(f"`{name}` sha256 `{digest[:12]}...`"
                               for name, digest in change["then"].items()
                               if provenance["inputs"].get(name) != digest)
            lines.append(f"- Input change (resumed by {change['build']['revision']} after "
                         f"{change['rows_before']} rows of its shard): before it, {before}.")
    with open(md_path, "a") as f:
        f.write("\n".join(lines) + "\n")


def plot_all(figures, runs_dir, out_dir, names):
    """Plots each named figure (figures: name -> function(rows, out_prefix)) from
    RUNS_DIR/<name>/runs.csv into OUT_DIR/<name>.png and .md (with its provenance)."""
    global RUNS_DIR
    RUNS_DIR = runs_dir  # for figures that set one run beside another
    os.makedirs(out_dir, exist_ok=True)
    for name in names:
        if name not in figures:
            sys.exit(f"unknown figure '{name}'; valid: {', '.join(figures)}")
        rows = load(runs_dir, name)
        out = os.path.join(out_dir, name)
        figures[name](rows, out)
        if os.path.exists(out + ".md"):
            append_provenance(out + ".md", os.path.join(runs_dir, name), rows)
        print(f"{out_dir}/{name}.png")


def main():
    runs_dir = sys.argv[1] if len(sys.argv) > 1 else "results/runs"
    out_dir = sys.argv[2] if len(sys.argv) > 2 else "results/figures"
    plot_all(FIGURES, runs_dir, out_dir, sys.argv[3:] or list(FIGURES))


if __name__ == "__main__":
    main()
