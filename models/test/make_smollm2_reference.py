#!/usr/bin/env python3
"""transformers' outputs on the real SmolLM2-135M checkpoint (scripts/make-smollm2.sh), for
smollm2_reference_test.cpp: a held-out passage (written for this test, so in no training set),
its token ids under the checkpoint's tokenizer.json, transformers' perplexity of the passage,
the KV cache after it, and 32 greedy tokens after it.

usage: make_smollm2_reference.py MODEL_DIR OUT_DIR
OUT_DIR gets passage.txt, reference.json {"perplexity", "tokens"} and reference.safetensors:
input_ids [T] (int32), kv [L, 2, T, Hkv, D] (f32) and greedy [32] (int32).
"""
import json
import math
import os
import sys

import torch
from safetensors.torch import save_file
from tokenizers import Tokenizer
from transformers import AutoModelForCausalLM

PASSAGE = (
    "The ferry to the island left twice a day, at seven in the morning and at four in the "
    "afternoon. In winter the second crossing was often cancelled, because the wind from the "
    "north pushed the waves over the harbour wall and the captain refused to risk the old boat. "
    "The islanders had learned to keep a week of flour, oil and candles in their cellars, and "
    "the school closed whenever the teacher, who lived on the mainland, could not come across. "
    "Children spent those days repairing nets with their grandparents or walking along the "
    "cliffs to count the seals that rested on the rocks below the lighthouse. In the spring a "
    "new pier was finally built with money from the regional government. The work took eleven "
    "months, longer than anyone had promised, but when it was finished a larger ferry could "
    "dock in any weather, and for the first time the island had a doctor who visited every "
    "Tuesday. Some of the older residents complained that the quiet had been lost, that the "
    "visitors left litter on the beaches and drove too fast on the single narrow road. Others "
    "opened small guest houses and cafes, and by the end of the decade more people were moving "
    "to the island than leaving it."
)


def layer_kv(cache, layer):
    if hasattr(cache, "layers"):  # transformers >= 4.56
        return cache.layers[layer].keys, cache.layers[layer].values
    return cache.key_cache[layer], cache.value_cache[layer]


def main(model_dir, out_dir):
    torch.set_num_threads(os.cpu_count() or 1)
    os.makedirs(out_dir, exist_ok=True)
    tokenizer = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    ids = torch.tensor([tokenizer.encode(PASSAGE).ids])
    with torch.no_grad():
        out = model(ids, use_cache=True)
        logp = torch.log_softmax(out.logits[0, :-1].double(), -1)
        total = logp.gather(1, ids[0, 1:, None])[:, 0].sum().item()
        kv = torch.stack([torch.stack([k[0].transpose(0, 1), v[0].transpose(0, 1)])
                          for k, v in (layer_kv(out.past_key_values, l)
                                       for l in range(model.config.num_hidden_layers))])
        greedy = model.generate(ids, max_new_tokens=32, min_new_tokens=32, do_sample=False,
                                pad_token_id=model.config.eos_token_id)
    with open(os.path.join(out_dir, "passage.txt"), "w", encoding="utf-8") as f:
        f.write(PASSAGE)
    count = ids.shape[1] - 1
    with open(os.path.join(out_dir, "reference.json"), "w", encoding="utf-8") as f:
        json.dump({"perplexity": math.exp(-total / count), "tokens": count}, f)
    save_file({"input_ids": ids[0].to(torch.int32).contiguous(),
               "kv": kv.contiguous(),
               "greedy": greedy[0, ids.shape[1]:].to(torch.int32).contiguous()},
              os.path.join(out_dir, "reference.safetensors"))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
