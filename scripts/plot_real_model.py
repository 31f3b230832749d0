#!/usr/bin/env python3
"""The real-model quality figures (configs/real-model/, run by scripts/real-model-figures.sh):
results/real-model/<name>.png and a markdown table beside each, every number with the count of
contexts behind it and a 95% bootstrap interval over contexts.

Intervals: percentile bootstrap, 2,000 resamples of the contexts (requests) with replacement,
paired: one resample draws the same contexts for every encoding, so a difference between two
encodings (perplexity increase over fp16, size ratio against quant8) is bootstrapped as a
difference on the same contexts. Seeded: the same runs.csv gives the same intervals.

usage: .venv/bin/python scripts/plot_real_model.py RUNS_DIR OUT_DIR NAME...
"""
import os
import random
import sys
from collections import OrderedDict

from plot_figures import group, label, load, plot_all, save, table

import matplotlib.pyplot as plt  # noqa: E402  (plot_figures selected the Agg backend)

RESAMPLES = 2000
REFERENCE = "fp16"   # quality losses are relative to the uncompressed KV (in fp16)
BASELINE = "quant8"  # size ratios are against 8-bit quantization, as in the paper


def by_request(rows, column):
    """{request: float(value)} of the rows with a value in `column`."""
    return {int(r["request"]): float(r[column]) for r in rows if r.get(column, "") != ""}


def bootstrap(requests, statistic, seed=1):
    """(value, low, high): `statistic` of the requests, and its 95% percentile interval over
    resamples of the requests."""
    requests = sorted(requests)
    value = statistic(requests)
    rng = random.Random(seed)
    draws = sorted(statistic([rng.choice(requests) for _ in requests]) for _ in range(RESAMPLES))
    return value, draws[int(0.025 * RESAMPLES)], draws[int(0.975 * RESAMPLES) - 1]


def mean_of(values):
    return lambda requests: sum(values[r] for r in requests) / len(requests)


def fmt(estimate, digits=4, scale=1.0, suffix=""):
    value, low, high = (x * scale for x in estimate)
    return f"{value:.{digits}g}{suffix} [{low:.{digits}g}, {high:.{digits}g}]"


def encoding_stats(rows):
    """Per encoding (in run order): n, bits, size ratio vs BASELINE, quality metric, its change
    vs REFERENCE, KL and top-1, each a bootstrap estimate over the contexts all encodings share."""
    groups = group(rows, "encoding_used")
    metric = "perplexity" if any(r.get("perplexity", "") for r in rows) else "accuracy"
    per = {e: {c: by_request(rs, c) for c in ("kv_bytes", "bits_per_element", metric, "kl",
                                             "top1")}
           for (e,), rs in groups.items()}
    shared = set.intersection(*(set(v["kv_bytes"]) for v in per.values()))
    out = OrderedDict()
    for (encoding,), rs in groups.items():
        v = per[encoding]
        s = {"n": len(shared), "codec": rs[0]["codec_used"], "metric": metric}
        s["bits"] = bootstrap(shared, mean_of(v["bits_per_element"]))
        if BASELINE in per:
            base = per[BASELINE]["kv_bytes"]
            s["ratio"] = bootstrap(shared, lambda q: sum(base[r] for r in q) /
                                   sum(v["kv_bytes"][r] for r in q))
        s["quality"] = bootstrap(shared, mean_of(v[metric]))
        if REFERENCE in per:
            ref = per[REFERENCE][metric]
            if metric == "perplexity":  # mean relative increase, in %
                s["loss"] = bootstrap(shared, lambda q: 100 * sum(
                    v[metric][r] / ref[r] - 1 for r in q) / len(q))
            else:  # accuracy drop, in points
                s["loss"] = bootstrap(shared, lambda q: 100 * sum(
                    ref[r] - v[metric][r] for r in q) / len(q))
        s["kl"] = bootstrap(shared, mean_of(v["kl"]))
        s["top1"] = bootstrap(shared, mean_of(v["top1"]))
        out[encoding] = s
    return out


def errorbar(ax, x, estimate, label, marker):
    value, low, high = estimate
    ax.errorbar([x], [value], yerr=[[value - low], [high - value]], fmt=marker, capsize=3, ms=6)
    ax.annotate(label, (x, value), textcoords="offset points", xytext=(4, 4), fontsize=7)


def size_vs_quality(rows, out, title):
    stats = encoding_stats(rows)
    metric = next(iter(stats.values()))["metric"]
    panels = [("loss", "perplexity increase over fp16 (%)" if metric == "perplexity"
               else "accuracy (%)"), ("kl", "KL vs uncompressed KV (nats/token)"),
              ("top1", "top-1 agreement with uncompressed KV")]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for encoding, s in stats.items():
        marker = {"quant": "s", "kivi": "^", "cachegen": "o", "kvtc": "D"}.get(s["codec"], "x")
        x = s["bits"][0]
        for ax, (key, _) in zip(axes, panels):
            if metric != "perplexity" and key == "loss":
                errorbar(ax, x, tuple(100 * e for e in s["quality"]), encoding, marker)
            elif key in s:
                errorbar(ax, x, s[key], encoding, marker)
    for ax, (key, ylabel) in zip(axes, panels):
        ax.set_xlabel("bits per KV element (all metadata)")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
    axes[1].set_yscale("symlog", linthresh=1e-4)
    if metric == "perplexity":  # 3-bit quantization's loss would flatten the rest
        axes[0].set_yscale("symlog", linthresh=1)
    n = next(iter(stats.values()))["n"]
    fig.suptitle(f"{title}: {n} contexts per point, 95% bootstrap intervals", fontsize=10)
    save(fig, out)
    loss_header = "perplexity +% vs fp16" if metric == "perplexity" else "accuracy drop vs fp16 (points)"
    lines = []
    for encoding, s in stats.items():
        lines.append((encoding, s["codec"], f"{s['bits'][0]:.3f}",
                      fmt(s["ratio"], 3, suffix="x") if "ratio" in s else "-",
                      fmt(s["quality"], 4, 100 if metric == "accuracy" else 1,
                          "%" if metric == "accuracy" else ""),
                      fmt(s["loss"], 3) if "loss" in s else "-",
                      fmt(s["kl"], 3), fmt(s["top1"], 3), s["n"]))
    table(out + ".md", ["encoding", "codec", "bits/element", "size vs quant8 (smaller by)",
                        metric, loss_header, "KL", "top-1", "contexts"], lines)


def context_length(rows, out, title):
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    lines, series = [], OrderedDict()
    for (tokens,), rs in group(rows, "context_tokens").items():
        for encoding, s in encoding_stats(rs).items():
            series.setdefault(encoding, []).append((int(tokens), s))
            lines.append((tokens, encoding, f"{s['bits'][0]:.3f}",
                          fmt(s["ratio"], 3, suffix="x") if "ratio" in s else "-",
                          fmt(s["quality"], 4), fmt(s["loss"], 3) if "loss" in s else "-",
                          fmt(s["kl"], 3), s["n"]))
    for encoding, points in series.items():
        if encoding in (REFERENCE, BASELINE):
            continue
        xs = [p[0] for p in points]
        for ax, key in zip(axes, ("ratio", "loss")):
            ys = [p[1][key] for p in points]
            ax.errorbar(xs, [y[0] for y in ys], yerr=[[y[0] - y[1] for y in ys],
                                                      [y[2] - y[0] for y in ys]],
                        marker="o", capsize=3, label=encoding)
    axes[0].set_ylabel("KV smaller than quant8 by (x)")
    axes[1].set_ylabel("perplexity increase over fp16 (%)")
    for ax in axes:
        ax.set_xscale("log", base=2)
        ax.set_xlabel("context tokens")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    ns = sorted({line[-1] for line in lines})
    fig.suptitle(f"{title}: {'/'.join(map(str, ns))} contexts per point, 95% bootstrap "
                 "intervals", fontsize=10)
    save(fig, out)
    table(out + ".md", ["context tokens", "encoding", "bits/element", "size vs quant8",
                        "perplexity", "perplexity +% vs fp16", "KL", "contexts"], lines)


def ttft_vs_quality(rows, out, title, accuracy_label="needle accuracy (%)"):
    """Per bandwidth, each method's TTFT against its accuracy, both with intervals."""
    bandwidths = sorted({r["net.bandwidth_gbps"] for r in rows}, key=float)
    fig, axes = plt.subplots(1, len(bandwidths), figsize=(5 * len(bandwidths), 4.2), squeeze=False)
    lines, ns = [], set()
    for ax, bw in zip(axes[0], bandwidths):
        for (_,), rs in group([r for r in rows if r["net.bandwidth_gbps"] == bw],
                              "controller").items():
            name = label(rs[0])
            ttft, acc = by_request(rs, "ttft_s"), by_request(rs, "accuracy")
            kl, size = by_request(rs, "kl"), by_request(rs, "kv_bytes")
            requests = sorted(set(ttft) & set(acc))
            ns.add(len(requests))
            t = bootstrap(requests, mean_of(ttft))
            a = bootstrap(requests, mean_of(acc))
            ax.errorbar([t[0]], [100 * a[0]], xerr=[[t[0] - t[1]], [t[2] - t[0]]],
                        yerr=[[100 * (a[0] - a[1])], [100 * (a[2] - a[0])]], fmt="o", capsize=3)
            ax.annotate(name, (t[0], 100 * a[0]), textcoords="offset points", xytext=(4, 4),
                        fontsize=8)
            parts = [f"{mean_of(by_request(rs, c))(requests):.3f}"
                     for c in ("transfer_s", "decode_s", "recompute_s")]
            lines.append((name, bw, fmt(t, 3), *parts, fmt(a, 3, 100, "%"),
                          fmt(bootstrap(requests, mean_of(kl)), 3),
                          f"{mean_of(size)(requests) / 1e6:.2f}", len(requests)))
        ax.set_title(f"{bw} Gbps", fontsize=9)
        ax.set_xlabel("TTFT (s), measured on this CPU")
        ax.set_ylabel(accuracy_label)
        ax.grid(alpha=0.3)
    fig.suptitle(f"{title}: {'/'.join(map(str, sorted(ns)))} contexts per point, 95% bootstrap "
                 "intervals", fontsize=10)
    save(fig, out)
    table(out + ".md", ["method", "Gbps", "TTFT s", "transfer s", "decode s", "recompute s",
                        "accuracy", "KL", "MB sent", "contexts"], lines)


# The paper's headline (abstract; ../shared/reference/cachegen.md section 4): 3.5-4.3x smaller
# KV than 8-bit quantization with negligible quality loss; Mistral-7B on LongChat: 622 MB for
# 8-bit quantization, 176 MB for CacheGen (3.5x) at 0.98 of its quality.
PAPER = "3.5-4.3x smaller than quant8, negligible loss (LongChat, Mistral-7B: 3.5x at 0.98 of quant8's accuracy)"


def paper_comparison(runs_dir, out):
    """The README's table: per CacheGen level, the size ratio against 8-bit quantization and
    the quality loss on SmolLM2, beside the paper's claim."""
    perplexity = encoding_stats(load(runs_dir, "size-vs-perplexity-2k"))
    needle_path = os.path.join(runs_dir, "needle-2k", "runs.csv")
    needle = encoding_stats(load(runs_dir, "needle-2k")) if os.path.exists(needle_path) else {}
    lines = []
    for encoding in ("quant8", "cg3", "cg2", "cg1", "cg2-profile", "cg2-delta"):
        if encoding not in perplexity:
            continue
        p = perplexity[encoding]
        n = needle.get(encoding)
        lines.append((encoding, f"{p['bits'][0]:.2f}", fmt(p["ratio"], 3, suffix="x"),
                      fmt(p["loss"], 3, suffix="%"), fmt(p["kl"], 3),
                      f"{fmt(n['quality'], 3, 100, '%')} ({n['n']})" if n else "-",
                      p["n"]))
    table(out, ["encoding", "bits/element", "smaller than quant8 by", "perplexity increase vs fp16",
                "KL vs fp16", "needle accuracy (needles)", "text contexts"], lines)
    with open(out, "a") as f:
        f.write(f"\nPaper (Liu et al. 2024): {PAPER}.\n")


FIGURES = OrderedDict([
    ("size-vs-perplexity-2k", lambda rows, out: size_vs_quality(
        rows, out, "SmolLM2-135M, 2K-token contexts, next 256 tokens scored")),
    ("size-vs-perplexity-8k", lambda rows, out: size_vs_quality(
        rows, out, "SmolLM2-135M, 7,936-token contexts, next 256 tokens scored")),
    ("kvtc-2k", lambda rows, out: size_vs_quality(
        rows, out, "SmolLM2-135M, 2K-token contexts: kvtc (PCA + rate allocation) beside CacheGen")),
    ("kvtc-layers-2k", lambda rows, out: size_vs_quality(
        rows + rows_of("kvtc-2k", ("quant8", "cg3", "cg2", "cg1", "kvtc-1.35", "kvtc-1.35-l5")),
        out, "SmolLM2-135M, 2K-token contexts: kvtc with a basis per 1, 5, 10 or 30 layers")),
    ("size-vs-perplexity", lambda rows, out: size_vs_quality(
        rows, out, "Built-in model, held-out text, 1K-token contexts, next 128 tokens scored")),
    ("longeval-size-vs-accuracy", lambda rows, out: size_vs_quality(
        rows, out, "Built-in model, LongChat's LongEval lines (official prompts, ~2K tokens)")),
    ("longeval-ttft-vs-accuracy", lambda rows, out: ttft_vs_quality(
        rows, out, "Built-in model, LongEval lines (~2K tokens), 0.2 Gbps, measured on this CPU",
        "LongEval accuracy (%)")),
    ("kvtc-size-vs-quality", lambda rows, out: size_vs_quality(
        rows, out, "Built-in model, 1K-token line retrieval: kvtc beside CacheGen")),
    ("needle-2k", lambda rows, out: size_vs_quality(
        rows, out, "SmolLM2-135M, needle in 2K tokens of real text")),
    ("needle-8k", lambda rows, out: size_vs_quality(
        rows, out, "SmolLM2-135M, needle in 8K tokens of real text")),
    ("ttft-vs-quality", lambda rows, out: ttft_vs_quality(
        rows, out, "SmolLM2-135M, 2K-token needle contexts, measured on this CPU")),
    ("ttft-vs-quality-kvtc", lambda rows, out: ttft_vs_quality(
        rows, out, "SmolLM2-135M, 2K-token needle contexts, kvtc as store levels, this CPU")),
    ("context-length", lambda rows, out: context_length(
        rows, out, "SmolLM2-135M, context-length sensitivity")),
])


RUNS_DIR = "results/runs/real-model"


def rows_of(name, encodings):
    """Rows of another run in RUNS_DIR (the same contexts) for these encodings: to set a run's
    points beside others without running them again."""
    return [r for r in load(RUNS_DIR, name) if r["encoding_used"] in encodings]


def main():
    global RUNS_DIR
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    runs_dir, out_dir = sys.argv[1], sys.argv[2]
    RUNS_DIR = runs_dir
    plot_all(FIGURES, runs_dir, out_dir, sys.argv[3:])
    if os.path.exists(os.path.join(runs_dir, "size-vs-perplexity-2k", "runs.csv")):
        paper_comparison(runs_dir, os.path.join(out_dir, "paper-vs-smollm2.md"))
        print(f"{out_dir}/paper-vs-smollm2.md")


if __name__ == "__main__":
    main()
