#!/usr/bin/env python3
"""The paper's context-compression comparison (configs/paper/context-compression*.yaml):
results/paper/context-compression.png and .md, every codec x compression point of each run
with the number of contexts behind it and 95% bootstrap intervals over contexts (paired: one
resample draws the same contexts for every point, as in plot_real_model.py), beside the paper's
numbers (Mistral-7B on LongChat).

Size is relative to 8-bit quantization of the uncompressed context (the paper's 622 MB);
quality: accuracy (needle, line retrieval) or the perplexity increase over that same baseline,
and KL / top-1 against the uncompressed KV. Runs that are missing are left out of the table.

usage: .venv/bin/python scripts/plot_compression.py RUNS_DIR OUT_DIR NAME...
"""
import os
import sys

from plot_figures import append_provenance, group, load, save, table
from plot_real_model import bootstrap, by_request, fmt, mean_of

import matplotlib.pyplot as plt  # noqa: E402

BASELINE = ("none", "quant8")
# (KV MB, quality) per method in the paper (Mistral-7B, LongChat; quality relative to 8-bit).
PAPER = [("8-bit quantization", 622, 1.00), ("CacheGen", 176, 0.98), ("H2O", 282, 0.97),
         ("CacheGen + H2O", 71, 0.97), ("LLMLingua", 492, 0.94),
         ("CacheGen + LLMLingua", 183, 0.94)]
TITLES = {"context-compression": "SmolLM2-135M, needle (2K tokens)",
          "context-compression-ppl": "SmolLM2-135M, perplexity (2K tokens)",
          "context-compression-builtin": "built-in model, line retrieval (1K tokens)"}


def point_stats(rows):
    """Per (compression, encoding): n, kept tokens, size ratio vs BASELINE, quality, KL, top-1."""
    groups = group(rows, "compression", "encoding_used")
    metric = "perplexity" if any(r.get("perplexity", "") for r in rows) else "accuracy"
    per = {k: {c: by_request(rs, c) for c in ("kv_bytes", "kv_tokens", metric, "kl", "top1")}
           for k, rs in groups.items()}
    shared = sorted(set.intersection(*(set(v["kv_bytes"]) for v in per.values())))
    base = per[BASELINE]
    out = []
    for key, v in per.items():
        s = {"key": key, "n": len(shared), "metric": metric}
        s["tokens"] = sum(v["kv_tokens"][r] for r in shared) / len(shared)
        s["mb"] = bootstrap(shared, lambda q: sum(v["kv_bytes"][r] for r in q) / len(q) / 1e6)
        s["size"] = bootstrap(shared, lambda q: sum(v["kv_bytes"][r] for r in q) /
                              sum(base["kv_bytes"][r] for r in q))
        if metric == "perplexity":  # mean relative increase over the baseline, in %
            s["quality"] = bootstrap(shared, lambda q: 100 * sum(
                v[metric][r] / base[metric][r] - 1 for r in q) / len(q))
        else:
            s["quality"] = bootstrap(shared, lambda q: 100 * sum(v[metric][r] for r in q) / len(q))
        s["kl"] = bootstrap(shared, mean_of(v["kl"]))
        s["top1"] = bootstrap(shared, mean_of(v["top1"]))
        out.append(s)
    return out


def name_of(key):
    compression, encoding = key
    method = {"quant8": "8-bit quantization", "cg2": "CacheGen (level 2)"}.get(encoding, encoding)
    return method if compression == "none" else f"{method} + {compression}"


def main():
    runs_dir, out_dir, names = sys.argv[1], sys.argv[2], sys.argv[3:]
    names = [n for n in names if os.path.exists(os.path.join(runs_dir, n, "runs.csv"))]
    if not names:
        sys.exit("no context-compression run found")
    os.makedirs(out_dir, exist_ok=True)
    out = os.path.join(out_dir, "context-compression")
    fig, axes = plt.subplots(1, len(names) + 1, figsize=(5.2 * (len(names) + 1), 4.4))
    lines = []
    for ax, name in zip(axes, names):
        stats = point_stats(load(runs_dir, name))
        metric = stats[0]["metric"]
        for s in stats:
            x, (y, low, high) = s["size"][0], s["quality"]
            marker = "o" if s["key"][1] == "cg2" else "s"
            color = {"none": "C0", "llmlingua": "C2"}.get(s["key"][0].split(":")[0], "C1")
            if "select=layer" in s["key"][0]:
                color = "C3"
            ax.errorbar([x], [y], yerr=[[y - low], [high - y]], fmt=marker, color=color, capsize=3)
            ax.annotate(name_of(s["key"]), (x, y), textcoords="offset points", xytext=(4, 4),
                        fontsize=6)
            quality = fmt(s["quality"], 3, suffix="%")
            lines.append((TITLES.get(name, name), name_of(s["key"]), f"{s['tokens']:.0f}",
                          fmt(s["mb"], 3), fmt(s["size"], 3), quality, fmt(s["kl"], 3),
                          fmt(s["top1"], 3), s["n"]))
        ax.set_xlabel("KV size relative to 8-bit quantization of the whole context")
        ax.set_ylabel("perplexity increase over 8-bit (%)" if metric == "perplexity"
                      else "accuracy (%)")
        ax.set_title(f"{TITLES.get(name, name)}: {stats[0]['n']} contexts", fontsize=9)
        ax.grid(alpha=0.3)
    paper = axes[-1]
    for method, mb, quality in PAPER:
        paper.plot([mb / 622], [100 * quality], "s" if "CacheGen" not in method else "o",
                   color="C0" if "+" not in method and method != "H2O" and method != "LLMLingua"
                   else ("C2" if "LLMLingua" in method else "C1"))
        paper.annotate(method, (mb / 622, 100 * quality), textcoords="offset points",
                       xytext=(4, 4), fontsize=6)
        lines.append(("paper: Mistral-7B, LongChat", method, "-", f"{mb}", f"{mb / 622:.3f}",
                      f"{100 * quality:.0f}% (relative)", "-", "-", "-"))
    paper.set_title("the paper (Mistral-7B, LongChat): quality relative to 8-bit", fontsize=9)
    paper.set_xlabel("KV size relative to 8-bit quantization")
    paper.set_ylabel("quality (%)")
    paper.grid(alpha=0.3)
    fig.suptitle("Codecs stacked on context compression: squares 8-bit quantization, circles "
                 "CacheGen level 2;\nblue none, orange H2O per (layer, KV head), red H2O per layer, "
                 "green LLMLingua; 95% bootstrap intervals over contexts", fontsize=9)
    save(fig, out)
    table(out + ".md", ["run", "method", "KV tokens", "KV MB", "size vs 8-bit (whole context)",
                        "accuracy, or perplexity increase vs 8-bit", "KL", "top-1", "contexts"],
          lines)
    for name in names:
        with open(out + ".md", "a") as f:
            f.write(f"\n{name}:")
        append_provenance(out + ".md", os.path.join(runs_dir, name), load(runs_dir, name))
    print(out + ".png")


if __name__ == "__main__":
    main()
