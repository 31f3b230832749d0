"""LongEval "lines" test cases made by LongChat's own generator (the PyPI wheel longchat==0.1.0,
longeval/utils.py), for line counts that fill 1K / 2K / 4K tokens of a tokenizer.

The generator functions (generate_lines_testcases, generate_line_index, retrieve_expected,
generate_prompt_from_lines) are taken from the wheel's source as they are and run here: the
module itself cannot be imported without openai, fastchat and torch, which the functions do not
use. Two things are set from outside, neither changing their code:
  - Python's `random` is seeded with the set's seed before the set is generated;
  - wonderwords' RandomWord, which the "LRT-NL" line names come from, draws from a
    random.Random of its own seeded from the OS; it is handed one seeded from `random` instead,
    so a seed gives the same cases on every machine.
Line counts: the largest count whose pilot cases (other seeds) all fit the token budget
(BOS and the question included) with 3% to spare. Writes OUT/lines-<budget>.jsonl (the
generator's records as it writes them) and OUT/manifest.json (seeds, line counts, token
statistics, sha256 of the wheel and of wonderwords).

With --train-out FILE it writes training cases instead (scripts/train-builtin.sh): for every line
count from 2 up to the largest that fits --train-budget tokens, --train-cases-per-count cases
from seed TRAIN_SEED_BASE + line count, a seed range no evaluated or pilot set uses.

usage: make_longeval.py LONGCHAT_WHEEL TOKENIZER_JSON OUT_DIR [--cases 100] [--budgets 1024,2048,4096]
       make_longeval.py LONGCHAT_WHEEL TOKENIZER_JSON --train-out FILE [--train-budget 2048]
                        [--train-cases-per-count 60]
"""
import argparse
import ast
import hashlib
import importlib.metadata
import json
import os
import random
import shutil
import tempfile
import zipfile

import tokenizers
import wonderwords

FUNCTIONS = ("generate_lines_testcases", "generate_line_index", "retrieve_expected",
             "generate_prompt_from_lines")
# Evaluated cases use seed = budget (1024, 2048, 4096); pilot cases, which only size the line
# counts, use 1_000_000 + budget + k. Training data must avoid both (scripts/train-builtin.sh).
PILOT_SEED_BASE = 1_000_000
PILOT_CASES = 20
TRAIN_SEED_BASE = 2_000_000


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def load_generator(wheel):
    """The wheel's generator functions, compiled from its source, in a namespace of their own."""
    with zipfile.ZipFile(wheel) as z:
        source = z.read("longeval/utils.py").decode()
    tree = ast.parse(source)
    wanted = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name in FUNCTIONS]
    if sorted(n.name for n in wanted) != sorted(FUNCTIONS):
        raise SystemExit(f"{wheel}: longeval/utils.py lacks one of {FUNCTIONS}")
    module = ast.Module(body=wanted, type_ignores=[])
    namespace = {}
    # The imports utils.py has at its top that these functions use.
    exec("import json, os, random, re, itertools, uuid", namespace)
    exec(compile(module, f"{wheel}!longeval/utils.py", "exec"), namespace)
    return namespace


class SeededWords:
    """wonderwords.RandomWord's constructor, given an rng drawn from Python's `random`.

    The default word lists and prefix tries are built once and shared (building them takes
    0.13 s, once per generated case): a constructed RandomWord holds exactly what its own
    constructor would have built, so the cases are the same bytes either way."""

    def __enter__(self):
        self.original = wonderwords.RandomWord.__init__
        original = self.original
        shared = {}

        def init(word, *args, rng=None, **kwargs):
            rng = rng or random.Random(random.getrandbits(64))
            if args or kwargs:
                original(word, *args, rng=rng, **kwargs)
                return
            if not shared:
                original(word, rng=rng)
                shared.update({k: v for k, v in vars(word).items() if k != "_generator"})
                return
            vars(word).update(shared)
            word._generator = rng

        wonderwords.RandomWord.__init__ = init
        return self

    def __exit__(self, *exc):
        wonderwords.RandomWord.__init__ = self.original


def generate(generator, num_lines, cases, seed):
    """`cases` LRT-NL records of `num_lines` lines from the official generator, seeded."""
    with tempfile.TemporaryDirectory() as tmp, SeededWords():
        random.seed(seed)
        generator["generate_lines_testcases"](
            {"num_lines": [num_lines], "num_test_samples": cases, "line_idx_opt": "LRT-NL"}, tmp)
        path = os.path.join(tmp, f"{num_lines}_lines.jsonl")
        with open(path) as f:
            text = f.read()
    return text, [json.loads(line) for line in text.splitlines()]


def prompt_tokens(tokenizer, record):
    return len(tokenizer.encode(record["prompt"], add_special_tokens=False).ids) + 1  # + BOS


def lines_for(generator, tokenizer, budget):
    """The largest line count whose pilot cases all fit in 97% of `budget` tokens."""
    def fits(n):
        _, records = generate(generator, n, PILOT_CASES, PILOT_SEED_BASE + budget + n)
        return max(prompt_tokens(tokenizer, r) for r in records) <= 0.97 * budget

    low, high = 1, 8
    while fits(high):
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if fits(middle) else (low, middle)
    return low


def write_training_cases(generator, tokenizer, path, budget, cases_per_count):
    """Training cases of every line count that fits `budget`, seeds disjoint from the rest."""
    most = lines_for(generator, tokenizer, budget)
    partial = path + ".partial"
    total = 0
    with open(partial, "w") as f:
        for num_lines in range(2, most + 1):
            text, records = generate(generator, num_lines, cases_per_count,
                                     TRAIN_SEED_BASE + num_lines)
            f.write(text)
            total += len(records)
    shutil.move(partial, path)
    print(f"{path}: {total} cases of 2-{most} lines (seeds {TRAIN_SEED_BASE} + line count), "
          f"sha256 {sha256(path)}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("wheel")
    parser.add_argument("tokenizer")
    parser.add_argument("out", nargs="?")
    parser.add_argument("--cases", type=int, default=100)
    parser.add_argument("--budgets", default="1024,2048,4096")
    parser.add_argument("--train-out")
    parser.add_argument("--train-budget", type=int, default=2048)
    parser.add_argument("--train-cases-per-count", type=int, default=60)
    args = parser.parse_args()
    generator = load_generator(args.wheel)
    tokenizer = tokenizers.Tokenizer.from_file(args.tokenizer)
    if args.train_out:
        write_training_cases(generator, tokenizer, args.train_out, args.train_budget,
                             args.train_cases_per_count)
        return
    if not args.out:
        parser.error("OUT_DIR is needed unless --train-out is given")
    os.makedirs(args.out, exist_ok=True)
    manifest = {
        "generator": "longchat==0.1.0 longeval/utils.py generate_lines_testcases, LRT-NL",
        "wheel_sha256": sha256(args.wheel),
        "wonderwords": importlib.metadata.version("wonderwords"),
        "tokenizer": args.tokenizer,
        "tokenizer_sha256": sha256(args.tokenizer),
        "sets": [],
    }
    for budget in (int(b) for b in args.budgets.split(",")):
        num_lines = lines_for(generator, tokenizer, budget)
        text, records = generate(generator, num_lines, args.cases, budget)
        counts = [prompt_tokens(tokenizer, r) for r in records]
        name = f"lines-{budget}.jsonl"
        partial = os.path.join(args.out, name + ".partial")
        with open(partial, "w") as f:
            f.write(text)
        shutil.move(partial, os.path.join(args.out, name))
        manifest["sets"].append({
            "file": name, "budget_tokens": budget, "num_lines": num_lines, "cases": len(records),
            "seed": budget, "pilot_seeds": f"{PILOT_SEED_BASE + budget} + line count",
            "prompt_tokens_min": min(counts), "prompt_tokens_max": max(counts),
            "sha256": sha256(os.path.join(args.out, name))})
        print(f"{name}: {num_lines} lines, {len(records)} cases, {min(counts)}-{max(counts)} "
              f"tokens (seed {budget})")
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
