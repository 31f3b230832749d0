#!/usr/bin/env python3
"""Trains the built-in model's tokenizer: byte-level BPE with Llama 3's pre-tokenizer regex
(except that digits are split one by one, as in Llama 2, so that a number is copied digit by
digit) and a BOS token, with the `tokenizers` library, on the given text files (the corpus from
scripts/make_corpus.sh and line-retrieval records from `cachegen retrieval-text`, so that the
task's words are single tokens and its lines short).

usage: .venv/bin/python scripts/train_tokenizer.py VOCAB_SIZE OUT/tokenizer.json TEXT...
"""
import sys

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers

SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"
         r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
BOS, EOS = "<|begin_of_text|>", "<|end_of_text|>"


def main(vocab_size, out_path, text_paths):
    tok = Tokenizer(models.BPE(ignore_merges=True))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[BOS, EOS],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    def lines():
        for path in text_paths:
            with open(path, encoding="utf-8") as f:
                yield from f

    tok.train_from_iterator(lines(), trainer)
    tok.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B", special_tokens=[(BOS, tok.token_to_id(BOS))])
    tok.save(out_path)


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], sys.argv[3:])
