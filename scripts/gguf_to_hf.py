#!/usr/bin/env python3
"""Converts a Llama-architecture GGUF file into a Hugging Face checkpoint directory that
`cachegen` (and transformers) load: config.json, model.safetensors (float32), tokenizer.json.

transformers reads the GGUF (with the `gguf` package), dequantizes its tensors and converts its
tokenizer. `save_pretrained` refuses a GGUF-quantized model, so the state dict and the config are
written here: float32 weights (the dequantized values are exact in float32, not in bf16), no
`lm_head.weight` when the embeddings are tied (transformers ties it again on load), and no
`quantization_config` (the weights written are plain floats). Writes into a temporary directory
and renames it, so an interrupted run leaves no half-written checkpoint.

usage: .venv/bin/python scripts/gguf_to_hf.py GGUF_FILE OUT_DIR [--sha256 HEX]
(--sha256 is recorded in config.json as source_sha256, to tell which file a checkpoint came from)
"""
import json
import os
import shutil
import sys

import torch
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM, AutoTokenizer


def convert(gguf_path, out_dir, sha256=None):
    directory, name = os.path.split(os.path.abspath(gguf_path))
    tokenizer = AutoTokenizer.from_pretrained(directory, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(directory, gguf_file=name, dtype=torch.float32)
    if model.config.model_type != "llama":
        sys.exit(f"{gguf_path}: model_type {model.config.model_type!r}, expected 'llama'")

    scratch = out_dir.rstrip("/") + ".partial"
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch)
    state = model.state_dict()
    if model.config.tie_word_embeddings:
        state.pop("lm_head.weight", None)
    save_file({k: v.contiguous() for k, v in state.items()},
              os.path.join(scratch, "model.safetensors"), metadata={"format": "pt"})
    config = model.config.to_dict()
    config.pop("quantization_config", None)
    config.pop("_model_name_or_path", None)
    config.pop("_name_or_path", None)  # a temporary directory: not part of the checkpoint
    config["dtype"] = "float32"
    config["source_gguf"] = name
    if sha256:
        config["source_sha256"] = sha256
    with open(os.path.join(scratch, "config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2, sort_keys=True)
        f.write("\n")
    tokenizer.backend_tokenizer.save(os.path.join(scratch, "tokenizer.json"))
    shutil.rmtree(out_dir, ignore_errors=True)
    os.rename(scratch, out_dir)


if __name__ == "__main__":
    args = sys.argv[1:]
    sha = None
    if len(args) == 4 and args[2] == "--sha256":
        sha = args[3]
        args = args[:2]
    if len(args) != 2:
        sys.exit(__doc__)
    torch.set_num_threads(os.cpu_count() or 1)
    convert(args[0], args[1], sha)
