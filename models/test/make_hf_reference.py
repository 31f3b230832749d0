#!/usr/bin/env python3
"""Writes tiny random-weight Hugging Face checkpoints and transformers' outputs on them, for the
C++ decoder's reference test (hf_reference_test.cpp).

usage: make_hf_reference.py OUT_DIR
For each architecture (llama with Llama-3 rope scaling, mistral, qwen2 with QKV bias and tied
embeddings) OUT_DIR/<name>/ gets the checkpoint (config.json, model.safetensors) and
reference.safetensors: input_ids [T], logits [T, V] (f32), kv [L, 2, T, Hkv, D] and greedy [32].
"""
import os
import sys

import torch
from safetensors.torch import save_file
from transformers import (LlamaConfig, LlamaForCausalLM, MistralConfig, MistralForCausalLM,
                          Qwen2Config, Qwen2ForCausalLM)

COMMON = dict(vocab_size=640, hidden_size=64, intermediate_size=160, num_hidden_layers=3,
              num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
              initializer_range=0.15, bos_token_id=None, eos_token_id=None, pad_token_id=None)

MODELS = {
    "llama": (LlamaForCausalLM, LlamaConfig(
        **COMMON, rope_theta=500000.0, tie_word_embeddings=False,
        rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                      "high_freq_factor": 4.0, "original_max_position_embeddings": 64})),
    "mistral": (MistralForCausalLM, MistralConfig(
        **COMMON, rope_theta=10000.0, sliding_window=None, tie_word_embeddings=False)),
    "qwen2": (Qwen2ForCausalLM, Qwen2Config(
        **COMMON, rope_theta=1000000.0, tie_word_embeddings=True, use_sliding_window=False)),
}


def layer_kv(cache, layer):
    if hasattr(cache, "layers"):  # transformers >= 4.56
        return cache.layers[layer].keys, cache.layers[layer].values
    return cache.key_cache[layer], cache.value_cache[layer]


def main(out_dir):
    for name, (cls, config) in MODELS.items():
        torch.manual_seed(0)
        model = cls(config).eval().to(torch.float32)
        path = os.path.join(out_dir, name)
        model.save_pretrained(path, safe_serialization=True)
        ids = torch.randint(0, config.vocab_size, (1, 48), generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            out = model(ids, use_cache=True)
            kv = torch.stack([torch.stack([k[0].transpose(0, 1), v[0].transpose(0, 1)])
                              for k, v in (layer_kv(out.past_key_values, l)
                                           for l in range(config.num_hidden_layers))])
            greedy = model.generate(ids, max_new_tokens=32, min_new_tokens=32, do_sample=False)
        save_file({"input_ids": ids[0].to(torch.int32).contiguous(),
                   "logits": out.logits[0].contiguous(),
                   "kv": kv.contiguous(),
                   "greedy": greedy[0, ids.shape[1]:].to(torch.int32).contiguous()},
                  os.path.join(path, "reference.safetensors"))


if __name__ == "__main__":
    main(sys.argv[1])
