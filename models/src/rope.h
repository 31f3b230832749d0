// Rotary position embedding frequencies for each RoPE type, computed as transformers 5.17's
// modeling_rope_utils.py computes them (private to models/src).
#pragma once

#include <ATen/ATen.h>

#include <cstdint>

#include "cachegen/models/model_config.h"

namespace cachegen {

struct RopeFrequencies {
  at::Tensor inv_freq;           // [head_dim / 2], f32 on the CPU: radians per position
  double attention_scaling = 1;  // cos and sin are multiplied by it (yarn; 1 otherwise)
};

// The frequencies of a forward pass whose positions end at seq_len - 1. Only `dynamic` (NTK)
// depends on seq_len: past max_position_embeddings it raises the base to
// base * (factor * seq_len / max_position_embeddings - (factor - 1))^(d / (d - 2)).
RopeFrequencies rope_frequencies(const ModelConfig& config, int64_t seq_len);

// True when rope_frequencies changes with seq_len (dynamic RoPE past max_position_embeddings).
inline bool rope_depends_on_length(const ModelConfig& config, int64_t seq_len) {
  return config.rope_scaling.type == RopeType::kDynamic && seq_len > config.max_position_embeddings;
}

}  // namespace cachegen
