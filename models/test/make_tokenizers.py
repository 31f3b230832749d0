#!/usr/bin/env python3
"""Trains small tokenizers in the styles the C++ tokenizer reads and records Hugging Face
`tokenizers`' ids on a test text, for tokenizer_test.cpp.

usage: make_tokenizers.py OUT_DIR
OUT_DIR/<style>.json is the tokenizer; OUT_DIR/<style>.ids holds the ids of TEST_TEXT, one per
line (no special tokens). Styles: llama3 (byte-level BPE, Llama-3 split regex), qwen2 (byte-level,
single-digit regex), gpt2 (ByteLevel pre-tokenizer with its built-in regex), llama2
(SentencePiece-style BPE over characters with byte fallback), and builtin (the built-in model's
own tokenizer, models/builtin/tokenizer.json, not trained here).
"""
import os
import shutil
import sys

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

CORPUS = [
    "In the beginning God created the heaven and the earth.",
    "And the earth was without form, and void; and darkness was upon the face of the deep.",
    "line cheerful-dove: REGISTER_CONTENT is <3141>",
    "What is the REGISTER_CONTENT in line cheerful-dove? I'm sure it's 3141, isn't it?",
    "The quick brown fox jumps over the lazy dog 1234567890 times.\n\n  Indented\tand tabbed.",
    "def encode(self, text):\n    return [self.vocab[t] for t in text.split()]\n",
] * 20

TEST_TEXT = ("In the beginning, line happy-otter: REGISTER_CONTENT is <98765>.\n"
             "What's the   REGISTER_CONTENT in line happy-otter?  It'll be 98765!\n\n"
             "Ünïcödé ñ, 中文字符, emoji 🙂🚀, tabs\tand trailing spaces   \n"
             "x=1234567 y=3.14159 'quoted' \"double\" ...end")

LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
                r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"
               r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")


def byte_level(split_regex):
    tok = Tokenizer(models.BPE(ignore_merges=split_regex is LLAMA3_SPLIT))
    if split_regex is None:
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    else:
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(split_regex), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=600, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  special_tokens=["<|begin_of_text|>", "<|end_of_text|>"])
    tok.train_from_iterator(CORPUS, trainer)
    return tok


def sentencepiece_style():
    tok = Tokenizer(models.BPE(byte_fallback=True, unk_token=None, fuse_unk=False))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(),
                                     decoders.Fuse(), decoders.Strip(" ", 1, 0)])
    byte_tokens = [f"<0x{b:02X}>" for b in range(256)]
    trainer = trainers.BpeTrainer(vocab_size=700, special_tokens=["<unk>", "<s>", "</s>"] + byte_tokens)
    tok.train_from_iterator(CORPUS, trainer)
    return tok


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    styles = {"llama3": byte_level(LLAMA3_SPLIT), "qwen2": byte_level(QWEN2_SPLIT),
              "gpt2": byte_level(None), "llama2": sentencepiece_style()}
    for name, tok in styles.items():
        tok.save(os.path.join(out_dir, name + ".json"))
        ids = tok.encode(TEST_TEXT, add_special_tokens=False).ids
        with open(os.path.join(out_dir, name + ".ids"), "w") as f:
            f.write("\n".join(str(i) for i in ids) + "\n")
    builtin = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "builtin",
                           "tokenizer.json")
    shutil.copyfile(builtin, os.path.join(out_dir, "builtin.json"))
    ids = Tokenizer.from_file(builtin).encode(TEST_TEXT, add_special_tokens=False).ids
    with open(os.path.join(out_dir, "builtin.ids"), "w") as f:
        f.write("\n".join(str(i) for i in ids) + "\n")
    with open(os.path.join(out_dir, "text.txt"), "w", encoding="utf-8") as f:
        f.write(TEST_TEXT)


if __name__ == "__main__":
    main(sys.argv[1])
