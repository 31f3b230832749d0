#!/usr/bin/env python3
"""ns-3 against the fluid model (its defaults), both through `cachegen netsim`, into two tables:

  agreement.md  constant links: single transfers of 100 bandwidth-delay products, and paper-scale
                contexts sent chunk by chunk (each chunk asked for when the previous one arrived)
  sizes.md      single transfers at 1 Gbps / 20 ms RTT across sizes: the paper's chunk sizes,
                100 BDP and a sweep of 1-100 MB, with where ns-3's finish time is not monotone

Contexts are Mistral-7B's shape (65,536 KV elements per token): 9.4K tokens in six 1,536-token
chunks and one of 184, at the bits per element measured on real KV (SmolLM2-135M's, tiled to
that shape) in the paper-kv-sizes run. Usage: netsim_agreement.py OUT_DIR (run from the repo).
"""
import hashlib
import json
import math
import os
import subprocess
import sys

CACHEGEN = "build/bin/cachegen"
KV_SIZES = "results/paper/runs/paper-kv-sizes/summary.json"
ELEMENTS_PER_TOKEN = 65536
CHUNK_TOKENS = [1536] * 6 + [184]
BUILDS = set()  # the builds that ran (cachegen netsim --json's "build"), as labels


def real_kv_bits():
    """Bits per element of each encoding on real KV, from the paper-kv-sizes run's summary."""
    with open(KV_SIZES) as f:
        points = json.load(f)["points"]
    bits = {p["encoding"]: p["bits_per_element"] for p in points if ":kv=" in p["model"]}
    for encoding in ("quant8", "cg3", "cg2", "cg1"):
        if encoding not in bits:
            sys.exit(f"{KV_SIZES}: no real-KV point for encoding '{encoding}'")
    return bits


def chunk_bytes(tokens, bits):
    return int(tokens * ELEMENTS_PER_TOKEN * bits / 8)


def netsim(backend, sizes, net):
    """`cachegen netsim`'s JSON, or None with the reason when the run fails (ns-3 3.37 crashes
    inside its TCP on a few of these cases)."""
    command = [CACHEGEN, "netsim", "--backend", backend, "--bytes", ",".join(map(str, sizes)),
               "--json"]
    for key, value in net.items():
        command += ["--net", f"{key}={value}"]
    run = subprocess.run(command, capture_output=True, text=True)
    if run.returncode != 0:
        return None, f"exit {run.returncode}: {run.stderr.strip()[-200:]}"
    result = json.loads(run.stdout)
    b = result["build"]
    dirty = "+dirty" if b["dirty"] else ""
    BUILDS.add(f"{b['revision']}{dirty} ({b['compiler']}, ns-3 {b['ns3']})")
    return result, None


def compare(sizes, net):
    """(ns-3 result, fluid result, error): the two models on the same chunks and link."""
    fluid, error = netsim("fluid", sizes, net)
    if error:
        sys.exit(f"fluid model failed on {net}: {error}")
    ns3, error = netsim("ns3", sizes, net)
    return ns3, fluid, error


def brief(error):
    """A failure's first line, short and safe inside a table cell."""
    return error.splitlines()[0][:80].replace("|", "/")


def events(ns3):
    chunks = ns3["chunks"]
    first = chunks[0]["retransmitted_segments"]
    rest = sum(c["retransmitted_segments"] for c in chunks[1:]) if len(chunks) > 1 else "-"
    recoveries = sum(c["fast_recoveries"] for c in chunks)
    timeouts = sum(c["timeouts"] for c in chunks)
    return first, rest, recoveries, timeouts


def agreement_table(bits):
    # (Gbps, RTT ms, MTU, transfer, queue): "bdp" is 100 BDPs in one transfer, an encoding is
    # the 9.4K-token context in chunks. The queue is ns-3's default (one BDP, at least 100
    # packets), two BDPs, or one BDP with the sender paced. (Not here: 10 Gbps with the 8-bit
    # context, and 3 Gbps with a two-BDP queue, where Debian's ns-3 3.37 crashes inside its TCP,
    # SIGSEGV; nor paced 3 Gbps with the 8-bit context, where its pacing stalls the connection.)
    # ns-3's transport events say where its extra time went: segments retransmitted in the first
    # chunk (slow start's overshoot) and in the later ones (bursts after idle round trips), fast
    # recoveries and retransmission timeouts.
    cases = [(1, 2, 1500, "bdp", "1bdp"), (1, 2, 9000, "bdp", "1bdp"), (1, 10, 1500, "bdp", "1bdp"),
             (0.5, 10, 1500, "bdp", "1bdp"), (10, 2, 9000, "bdp", "1bdp"),
             (1, 20, 1500, "bdp", "1bdp"), (1, 20, 1500, "quant8", "1bdp"),
             (1, 20, 1500, "cg2", "1bdp"), (3, 10, 1500, "quant8", "1bdp"),
             (3, 10, 1500, "cg2", "1bdp"), (10, 10, 1500, "cg2", "1bdp"),
             (1, 20, 1500, "quant8", "2bdp"), (1, 20, 1500, "cg2", "2bdp"),
             (1, 20, 1500, "quant8", "paced"), (1, 20, 1500, "cg2", "paced"),
             (3, 10, 1500, "cg2", "paced"), (10, 10, 1500, "cg2", "paced")]
    lines = ["| link | RTT | MTU | queue | transfer | bytes | ns-3 done (s) | fluid done (s) | "
             "ns-3 / fluid | ns-3 retransmitted (first chunk / rest) | ns-3 recoveries / timeouts "
             "| ns-3 wall (s) |",
             "|---|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for gbps, rtt_ms, mtu, what, queue in cases:
        bdp_bytes = gbps * 1e9 / 8 * rtt_ms / 1000
        if what == "bdp":
            sizes, transfer = [int(100 * bdp_bytes)], "100 BDP"
        else:
            sizes = [chunk_bytes(t, bits[what]) for t in CHUNK_TOKENS]
            transfer = f"{what} context, {len(sizes)} chunks"
        net = {"bandwidth_gbps": gbps, "rtt_ms": rtt_ms, "mtu": mtu}
        if queue == "2bdp":
            net["queue_packets"] = int(2 * bdp_bytes / mtu)
        elif queue == "paced":
            net["pacing"] = "on"
        label = {"1bdp": "1 BDP", "2bdp": "2 BDP", "paced": "1 BDP, paced"}[queue]
        ns3, fluid, error = compare(sizes, net)
        t_fluid = fluid["chunks"][-1]["done_s"]
        head = f"| {gbps} Gbps | {rtt_ms} ms | {mtu} | {label} | {transfer} | {sum(sizes)} |"
        if error:
            lines.append(f"{head} ns-3 failed ({brief(error)}) | {t_fluid:.4f} | - | - | - | - |")
        else:
            t_ns3 = ns3["chunks"][-1]["done_s"]
            first, rest, recoveries, timeouts = events(ns3)
            lines.append(f"{head} {t_ns3:.4f} | {t_fluid:.4f} | {t_ns3 / t_fluid:.3f} | "
                         f"{first} / {rest} | {recoveries} / {timeouts} | {ns3['wall_s']:.2f} |")
        print(lines[-1], flush=True)
    return lines


def sizes_table(bits):
    net = {"bandwidth_gbps": 1, "rtt_ms": 20}
    bdp_bytes = 1e9 / 8 * 0.020
    transfers = [(f"{e} chunk (1,536 tokens, {bits[e]:.3f} bits)", chunk_bytes(1536, bits[e]))
                 for e in ("cg1", "cg2", "cg3", "quant8")]
    transfers.append(("100 BDP", int(100 * bdp_bytes)))
    transfers += [(f"{mb} MB", mb * 1_000_000)
                  for mb in (1, 2, 5, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 40, 60, 80, 100)]
    transfers.sort(key=lambda t: t[1])
    lines = ["| transfer | bytes | ns-3 done (s) | fluid done (s) | ns-3 / fluid | "
             "ns-3 retransmitted | ns-3 recoveries / timeouts |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    done = []  # (bytes, ns-3 seconds)
    ratios = []  # ns-3 / fluid
    for name, size in transfers:
        ns3, fluid, error = compare([size], net)
        t_fluid = fluid["chunks"][-1]["done_s"]
        if error:
            lines.append(f"| {name} | {size} | ns-3 failed ({brief(error)}) | {t_fluid:.4f} | "
                         "- | - | - |")
        else:
            t_ns3 = ns3["chunks"][-1]["done_s"]
            first, _, recoveries, timeouts = events(ns3)
            done.append((size, t_ns3))
            ratios.append(t_ns3 / t_fluid)
            lines.append(f"| {name} | {size} | {t_ns3:.4f} | {t_fluid:.4f} | "
                         f"{t_ns3 / t_fluid:.3f} | {first} | {recoveries} / {timeouts} |")
        print(lines[-1], flush=True)
    within = sum(1 for r in ratios if abs(r - 1) <= 0.03)
    lines += ["", f"Within 3%: {within} of {len(ratios)} transfers."]
    # A model where more bytes never arrive sooner (the fluid model, any fluid model) cannot be
    # within x of ns-3 at both sizes of a pair where the smaller one takes ns-3 longer by more
    # than (1 + x)^2.
    worst = max(((a, ta, b, tb) for a, ta in done for b, tb in done if a < b and ta > tb),
                key=lambda p: p[1] / p[3], default=None)
    if worst:
        a, ta, b, tb = worst
        bound = math.sqrt(ta / tb) - 1
        lines.append(f"ns-3's finish time is not monotone in size: {a} bytes take {ta:.4f} s, "
                     f"{b} bytes {tb:.4f} s. Any model whose finish time never falls as the size "
                     f"grows is off by at least {100 * bound:.1f}% on one of the two.")
    return lines


def provenance():
    """The builds that produced the numbers (revision at build time, dirty flag, compiler, ns-3)
    and the sha256 of the input file."""
    with open(KV_SIZES, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    return ["", f"Provenance: built by {', '.join(sorted(BUILDS))}; `scripts/netsim_agreement.py`.",
            f"- `{KV_SIZES}`: sha256 `{digest}`"]


def write(path, lines):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(tmp, path)  # never a half-written table


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: netsim_agreement.py OUT_DIR")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    bits = real_kv_bits()
    write(os.path.join(out, "sizes.md"), sizes_table(bits) + provenance())
    write(os.path.join(out, "agreement.md"), agreement_table(bits) + provenance())


if __name__ == "__main__":
    main()
