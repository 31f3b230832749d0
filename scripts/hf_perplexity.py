#!/usr/bin/env python3
"""Perplexity of a checkpoint on a text with Hugging Face transformers, computed the way
`cachegen perplexity` does (BOS if the tokenizer adds one, then the text's tokens, in non-overlapping windows of the
model's context; each window scores its tokens 1..n-1), to check the shipped checkpoint end to
end against the reference implementation. Prints JSON: perplexity, tokens.

usage: .venv/bin/python scripts/hf_perplexity.py MODEL_DIR TEXT_FILE
"""
import json
import math
import os
import sys

import torch
from tokenizers import Tokenizer
from transformers import AutoModelForCausalLM


def main(model_dir, text_path):
    torch.set_num_threads(os.cpu_count() or 1)
    tokenizer = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    with open(text_path, encoding="utf-8") as f:
        text = f.read()
    ids = tokenizer.encode(text).ids  # with BOS where the tokenizer's template adds one
    window = model.config.max_position_embeddings
    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(ids) - 1, window):
            chunk = torch.tensor([ids[start:start + window]])
            if chunk.shape[1] < 2:
                break
            logp = torch.log_softmax(model(chunk).logits[0, :-1].double(), -1)
            total += logp.gather(1, chunk[0, 1:, None])[:, 0].sum().item()
            count += chunk.shape[1] - 1
    print(json.dumps({"perplexity": math.exp(-total / count), "tokens": count}))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(*sys.argv[1:])
