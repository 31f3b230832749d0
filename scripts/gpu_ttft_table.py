#!/usr/bin/env python3
"""The measured-vs-predicted TTFT table of scripts/gpu-check.sh's runs (configs/gpu/*.yaml): per
model, bandwidth and loading (text recompute, 8-bit quantization, each CacheGen level, CacheGen's
controller), the TTFT measured on the GPU (codec and model running there) beside what the
hardware profile predicted for the same contexts and bytes, with the count of contexts behind
each row and 95% bootstrap intervals over them (paired: the measured/predicted ratio is resampled
on the same contexts).

usage: python3 scripts/gpu_ttft_table.py RUN_DIR... [--out FILE.md]   (FILE gets provenance too)
"""
import csv
import os
import sys
from collections import OrderedDict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from plot_real_model import bootstrap, fmt  # noqa: E402

LOADING = OrderedDict([("text", "text recompute"), ("quant", "quant8"),
                       ("fixed:encoding=cg3", "cg3"), ("fixed:encoding=cg2", "cg2"),
                       ("fixed:encoding=cg1", "cg1"), ("cachegen", "CacheGen controller")])


def run_table(run_dir):
    with open(os.path.join(run_dir, "runs.csv")) as f:
        rows = list(csv.DictReader(f))
    name = os.path.basename(os.path.normpath(run_dir))
    # (controller, bandwidth) -> timing -> {request: row}
    cells = OrderedDict()
    for r in rows:
        key = (r["controller"], float(r["net.bandwidth_gbps"]))
        cells.setdefault(key, {}).setdefault(r["timing"], {})[int(r["request"])] = r
    lines = [f"### {name}", "",
             "| Gbps | loading | n | KV MB | measured TTFT s | measured: transfer / decode / "
             "recompute / prefill s | predicted TTFT s | measured / predicted |",
             "|---|---|---|---|---|---|---|---|"]
    keys = sorted(cells, key=lambda k: (k[1], list(LOADING).index(k[0]) if k[0] in LOADING else 99))
    for controller, gbps in keys:
        timing = cells[(controller, gbps)]
        measured, predicted = timing.get("measured", {}), timing.get("profile", {})
        shared = sorted(set(measured) & set(predicted)) or sorted(measured or predicted)
        if not measured:
            continue

        def mean(table, column):
            return lambda q: sum(float(table[r][column]) for r in q) / len(q)

        parts = " / ".join(f"{sum(float(measured[r][c]) for r in measured) / len(measured):.3g}"
                           for c in ("transfer_s", "decode_s", "recompute_s", "prefill_s"))
        used = {measured[r]["encoding_used"] for r in measured}
        label = LOADING.get(controller, controller)
        if controller == "cachegen":
            label += f" ({', '.join(sorted(used))})"
        row = [f"{gbps:g}", label, str(len(measured)),
               f"{sum(int(measured[r]['kv_bytes']) for r in measured) / len(measured) / 1e6:.1f}",
               fmt(bootstrap(list(measured), mean(measured, "ttft_s")), 3), parts]
        if predicted and set(predicted) >= set(measured):
            row.append(fmt(bootstrap(shared, mean(predicted, "ttft_s")), 3))
            row.append(fmt(bootstrap(shared, lambda q: sum(float(measured[r]["ttft_s"]) for r in q) /
                                     sum(float(predicted[r]["ttft_s"]) for r in q)), 3))
        else:
            row += ["", ""]
        lines.append("| " + " | ".join(row) + " |")
    return lines


def main():
    args = sys.argv[1:]
    out = None
    if "--out" in args:
        i = args.index("--out")
        out = args[i + 1]
        del args[i:i + 2]
    if not args:
        sys.exit(__doc__)
    text = []
    for run_dir in args:
        text += run_table(run_dir) + [""]
    print("\n".join(text))
    if out:
        with open(out, "w") as f:
            f.write("\n".join(text))
        from plot_figures import append_provenance
        for run_dir in args:
            with open(os.path.join(run_dir, "runs.csv")) as f:
                rows = list(csv.DictReader(f))
            with open(out, "a") as f:
                f.write(f"\n{os.path.basename(os.path.normpath(run_dir))}:")
            append_provenance(out, run_dir, rows)


if __name__ == "__main__":
    main()
