#!/usr/bin/env python3
"""Trains the built-in model's tokenizer: byte-level BPE with Llama 3's pre-tokenizer regex
and a BOS token, with the `tokenizers` library, on the given text files (the corpus from
scripts/make_corpus.sh and line-retrieval records from `cachegen retrieval-text`, so that the
task's words are single tokens and its lines short).

Digits: one by one, as in Llama 2 and Qwen2 (the default, the committed built-in model's), or
with --digit-groups in groups of up to three as in Llama 3. Then every group of one to three
digits is one token: merges that the BPE trainer did not learn are added after its own
(VOCAB_SIZE counts the trainer's tokens only), so that a five-digit number is always two
tokens (`382`, `91`), whose first says much more than a lone digit about where to copy from.

usage: .venv/bin/python scripts/train_tokenizer.py [--digit-groups] VOCAB_SIZE OUT.json TEXT...
"""
import json
import sys

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers


def split_regex(digits):
    return (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|" + digits +
            r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")


BOS, EOS = "<|begin_of_text|>", "<|end_of_text|>"


def main(vocab_size, out_path, text_paths, digit_groups):
    tok = Tokenizer(models.BPE(ignore_merges=True))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(split_regex(r"\p{N}{1,3}" if digit_groups else r"\p{N}")),
                             behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[BOS, EOS],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    def lines():
        for path in text_paths:
            with open(path, encoding="utf-8") as f:
                yield from f

    tok.train_from_iterator(lines(), trainer)
    if digit_groups:
        tok = add_digit_groups(tok)
    tok.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B", special_tokens=[(BOS, tok.token_to_id(BOS))])
    tok.save(out_path)


def add_digit_groups(tok):
    """Adds the tokens and merges that make every 2- and 3-digit group one token. A 3-digit
    group gets both of its merges ("38" + "2" and "3" + "82"), so that it ends as one token
    whichever pair BPE merges first."""
    spec = json.loads(tok.to_str())
    vocab, merges = spec["model"]["vocab"], spec["model"]["merges"]
    known = {tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in merges}
    def merge(left, right):
        if (left, right) not in known:
            known.add((left, right))
            merges.append([left, right])
        vocab.setdefault(left + right, len(vocab))
    digits = "0123456789"
    for a in digits:
        for b in digits:
            merge(a, b)
    for a in digits:
        for b in digits:
            for c in digits:
                merge(a + b, c)
                merge(a, b + c)
    return Tokenizer.from_str(json.dumps(spec))


if __name__ == "__main__":
    args = sys.argv[1:]
    groups = "--digit-groups" in args
    args = [a for a in args if a != "--digit-groups"]
    if len(args) < 3:
        sys.exit(__doc__)
    main(int(args[0]), args[1], args[2:], groups)
