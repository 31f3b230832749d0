#!/usr/bin/env python3
"""Writes tiny random-weight Hugging Face checkpoints and transformers' outputs on them, for the
C++ decoder's reference test (hf_reference_test.cpp).

usage: make_hf_reference.py OUT_DIR
For each case of CASES, OUT_DIR/<name>/ gets the checkpoint (config.json, model.safetensors) and
reference.safetensors, all computed by a model freshly loaded from that directory (so the test
also checks that config.json is read as transformers reads it):
  input_ids [T]                 T = 48 random tokens
  logits [T, V]                 one forward pass (f32)
  kv.<layer> [2, K, Hkv, D]     the layer's cache after it: K = T, or the last window - 1 tokens
                                that transformers keeps on sliding-window layers
  split_logits [T - 30, V]      the last T - 30 tokens prefilled on top of the first 30's cache
  greedy [32]                   generate(): 32 greedy tokens after the T
  greedy_from_kv [32]           32 greedy tokens decoded one by one on the cache of the first
                                T - 1 tokens, starting from token T - 1
  attention_received [L, Hkv, T]  eager attention's probabilities (output_attentions), summed
                                over queries and each KV head's query heads: H2O's score
  kept_index [L, Hkv, 20]       (no sliding window) per layer and KV head, 20 of the first 40
                                tokens, whose KV alone is kept
  kept_logits [T - 40, V]       the last T - 40 tokens on that kept cache, at their original
                                positions 40.. (cache slots 20..)
The cases cover every RoPE type (positions run past max_position_embeddings or the original
length), both config.json spellings of RoPE (transformers-4 rope_scaling + rope_theta, and
transformers-5 rope_parameters), sliding windows shorter than T, an explicit head_dim, and biases.
OUT_DIR/config_fields.json lists the fields of each architecture's config class, for the test
that every field is implemented or refused.
"""
import dataclasses
import json
import os
import sys

import torch
from safetensors.torch import save_file
from transformers import (DynamicCache, LlamaConfig, LlamaForCausalLM, MistralConfig,
                          MistralForCausalLM, Qwen2Config, Qwen2ForCausalLM)

COMMON = dict(vocab_size=640, hidden_size=64, intermediate_size=160, num_hidden_layers=3,
              num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
              initializer_range=0.15, bos_token_id=None, eos_token_id=None, pad_token_id=None)
TOKENS, SPLIT, GREEDY = 48, 30, 32
KEPT_CONTEXT, KEPT = 40, 20


def common(**changes):
    return {**COMMON, **changes}


# name: (model class, config, legacy) -- legacy: rewrite config.json's RoPE the transformers-4
# way (rope_scaling and a top-level rope_theta) before the reference is computed from it.
CASES = {
    "llama": (LlamaForCausalLM, LlamaConfig(**common(
        tie_word_embeddings=False, rope_parameters={
            "rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0, "low_freq_factor": 1.0,
            "high_freq_factor": 4.0, "original_max_position_embeddings": 32})), False),
    # LongChat-7B's setting (linear, factor 8), as its config.json spells it.
    "llama-linear": (LlamaForCausalLM, LlamaConfig(**common(
        rope_parameters={"rope_type": "linear", "rope_theta": 10000.0, "factor": 8.0})), True),
    "llama-dynamic": (LlamaForCausalLM, LlamaConfig(**common(
        max_position_embeddings=32,
        rope_parameters={"rope_type": "dynamic", "rope_theta": 10000.0, "factor": 2.0})), False),
    "llama-yarn": (LlamaForCausalLM, LlamaConfig(**common(
        max_position_embeddings=128, head_dim=32, rope_parameters={
            "rope_type": "yarn", "rope_theta": 100.0, "factor": 4.0,
            "original_max_position_embeddings": 32, "beta_fast": 4.0, "beta_slow": 0.25})), False),
    "llama-bias-head-dim": (LlamaForCausalLM, LlamaConfig(**common(
        head_dim=24, attention_bias=True, mlp_bias=True,
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0})), False),
    "mistral": (MistralForCausalLM, MistralConfig(**common(
        sliding_window=None, tie_word_embeddings=False,
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0})), False),
    "mistral-sliding": (MistralForCausalLM, MistralConfig(**common(
        sliding_window=16, rope_parameters={"rope_type": "default", "rope_theta": 10000.0})),
        False),
    "qwen2": (Qwen2ForCausalLM, Qwen2Config(**common(
        tie_word_embeddings=True, use_sliding_window=False,
        rope_parameters={"rope_type": "default", "rope_theta": 1000000.0})), False),
    # Layer 0 full attention, layers 1 and 2 a 12-token window.
    "qwen2-sliding": (Qwen2ForCausalLM, Qwen2Config(**common(
        use_sliding_window=True, sliding_window=12, max_window_layers=1,
        rope_parameters={"rope_type": "default", "rope_theta": 1000000.0})), False),
    # Qwen2.5-style YaRN with DeepSeek-style mscale, no truncation, in the legacy spelling.
    "qwen2-yarn": (Qwen2ForCausalLM, Qwen2Config(**common(
        max_position_embeddings=96, rope_parameters={
            "rope_type": "yarn", "rope_theta": 1000.0, "factor": 3.0,
            "original_max_position_embeddings": 32, "mscale": 0.8, "mscale_all_dim": 0.5,
            "truncate": False})), True),
}


def to_legacy_rope(path):
    """config.json with transformers 4's spelling: rope_scaling {type, ...} and rope_theta."""
    with open(os.path.join(path, "config.json")) as f:
        config = json.load(f)
    rope = dict(config.pop("rope_parameters"))
    config["rope_theta"] = rope.pop("rope_theta")
    rope["type"] = rope.pop("rope_type")
    config["rope_scaling"] = rope
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(config, f, indent=2)


def layer_kv(cache, layer):
    return cache.layers[layer].keys, cache.layers[layer].values


def reference(cls, path, ids):
    fresh = lambda: cls.from_pretrained(path, dtype=torch.float32).eval()  # noqa: E731
    out = {"input_ids": ids[0].to(torch.int32)}
    with torch.no_grad():
        full = fresh()(ids, use_cache=True)
        out["logits"] = full.logits[0]
        layers = len(full.past_key_values.layers)
        for l in range(layers):
            k, v = layer_kv(full.past_key_values, l)
            out[f"kv.{l}"] = torch.stack([k[0].transpose(0, 1), v[0].transpose(0, 1)])
        model = fresh()
        first = model(ids[:, :SPLIT], use_cache=True)
        second = model(ids[:, SPLIT:], past_key_values=first.past_key_values, use_cache=True)
        out["split_logits"] = second.logits[0]
        greedy = fresh().generate(ids, max_new_tokens=GREEDY, min_new_tokens=GREEDY,
                                  do_sample=False)
        out["greedy"] = greedy[0, ids.shape[1]:].to(torch.int32)
        model = fresh()
        step = model(ids[:, :-1], use_cache=True)
        cache, token, tokens = step.past_key_values, ids[:, -1:], []
        for _ in range(GREEDY):
            step = model(token, past_key_values=cache, use_cache=True)
            cache = step.past_key_values
            token = step.logits[:, -1:].argmax(-1)
            tokens.append(int(token))
        out["greedy_from_kv"] = torch.tensor(tokens, dtype=torch.int32)
        out.update(h2o_reference(cls, path, ids))
    return {name: t.contiguous() for name, t in out.items()}


def h2o_reference(cls, path, ids):
    """Explicit attention matrices summed per key, and logits on a cache of kept tokens."""
    out = {}
    model = cls.from_pretrained(path, dtype=torch.float32, attn_implementation="eager").eval()
    config = model.config
    kv_heads, tokens = config.num_key_value_heads, ids.shape[1]
    group = config.num_attention_heads // kv_heads
    attentions = model(ids, output_attentions=True).attentions  # [1, H, T, T] per layer
    out["attention_received"] = torch.stack(
        [a[0].view(kv_heads, group, tokens, tokens).sum(dim=(1, 2)) for a in attentions])
    if getattr(config, "sliding_window", None) and (
            getattr(config, "use_sliding_window", True)):
        return out  # the decoder refuses dropped tokens with sliding windows
    # A fresh model: dynamic RoPE's rotary module remembers the longest sequence it has seen.
    model = cls.from_pretrained(path, dtype=torch.float32).eval()
    context = model(ids[:, :KEPT_CONTEXT], use_cache=True).past_key_values
    generator = torch.Generator().manual_seed(2)
    layers = len(context.layers)
    index = torch.stack([torch.stack([
        torch.randperm(KEPT_CONTEXT, generator=generator)[:KEPT].sort().values
        for _ in range(kv_heads)]) for _ in range(layers)])  # [L, Hkv, KEPT]
    cache = DynamicCache()
    for layer in range(layers):
        k, v = layer_kv(context, layer)  # [1, Hkv, T, D]
        gather = index[layer][None, :, :, None].expand(1, kv_heads, KEPT, k.shape[-1])
        cache.update(k.gather(2, gather), v.gather(2, gather), layer)
    tail = ids[:, KEPT_CONTEXT:]
    result = model(tail, past_key_values=cache, use_cache=True,
                   position_ids=torch.arange(KEPT_CONTEXT, tokens)[None],
                   cache_position=torch.arange(KEPT, KEPT + tail.shape[1]))
    out["kept_index"] = index.to(torch.int32)
    out["kept_logits"] = result.logits[0]
    return out


def config_fields():
    """Each architecture's config fields: the class's dataclass fields and what to_dict adds."""
    fields = {}
    for name, cls in (("llama", LlamaConfig), ("mistral", MistralConfig), ("qwen2", Qwen2Config)):
        names = {f.name for f in dataclasses.fields(cls)} | set(cls().to_dict())
        fields[name] = sorted(names)
    return fields


def main(out_dir):
    for name, (cls, config, legacy) in CASES.items():
        torch.manual_seed(0)
        path = os.path.join(out_dir, name)
        cls(config).eval().to(torch.float32).save_pretrained(path, safe_serialization=True)
        if legacy:
            to_legacy_rope(path)
        ids = torch.randint(0, config.vocab_size, (1, TOKENS),
                            generator=torch.Generator().manual_seed(1))
        save_file(reference(cls, path, ids), os.path.join(path, "reference.safetensors"))
    with open(os.path.join(out_dir, "config_fields.json"), "w") as f:
        json.dump(config_fields(), f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
