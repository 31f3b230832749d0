// A Llama-family decoder's configuration, read from a Hugging Face config.json the way
// transformers 5.17 reads it. Supported model_type values: llama (Llama 2/3, with attention and
// MLP biases and an explicit head_dim), mistral (sliding-window attention), qwen2 (QKV bias,
// optional sliding windows on the upper layers). RoPE types: default, linear, dynamic, yarn,
// llama3, from `rope_scaling` (transformers 4) or `rope_parameters` (transformers 5).
//
// Every field of transformers' config class for the architecture is either implemented, has no
// effect on inference (training or output-format settings), or is refused unless it has its
// default value: config_field_policy() says which, and the reference test walks the classes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cachegen {

enum class RopeType { kDefault, kLinear, kDynamic, kYarn, kLlama3 };
const char* rope_type_name(RopeType type);

// RoPE frequency scaling (transformers' modeling_rope_utils.py). Which fields apply depends on
// the type; the others keep their defaults.
struct RopeScaling {
  RopeType type = RopeType::kDefault;
  double factor = 1;  // linear, dynamic, yarn, llama3
  // llama3 and yarn: the pretraining context length (yarn's and llama3's frequency bands).
  int64_t original_max_position_embeddings = 0;
  double low_freq_factor = 1;   // llama3
  double high_freq_factor = 4;  // llama3
  // yarn: cos and sin are multiplied by attention_factor (0 = derived from factor and mscale).
  double attention_factor = 0;
  double beta_fast = 32, beta_slow = 1;
  double mscale = 0, mscale_all_dim = 0;  // 0 = absent
  bool truncate = true;
};

struct ModelConfig {
  std::string model_type;  // llama | mistral | qwen2
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;
  int64_t head_dim = 0;  // may differ from hidden_size / num_attention_heads
  int64_t max_position_embeddings = 0;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000;
  RopeScaling rope_scaling;
  bool tie_word_embeddings = false;
  bool qkv_bias = false;       // q/k/v projections carry a bias (Qwen2; Llama attention_bias)
  bool output_bias = false;    // o_proj carries a bias (Llama attention_bias)
  bool mlp_bias = false;       // gate/up/down carry a bias (Llama mlp_bias)
  int64_t sliding_window = 0;  // tokens a query sees on sliding layers (itself included); 0: none
  std::vector<bool> sliding_layers;  // [num_hidden_layers]: true where the window applies
  std::string torch_dtype = "float32";
  int64_t bos_token_id = -1;
  int64_t eos_token_id = -1;

  // The window of layer `layer`'s attention in tokens, 0 for full causal attention.
  int64_t attention_window(size_t layer) const {
    return layer < sliding_layers.size() && sliding_layers[layer] ? sliding_window : 0;
  }

  // Throws naming the file and key for a missing, mistyped or unsupported entry.
  static ModelConfig load(const std::string& path);
  static ModelConfig parse(const std::string& json_text, const std::string& source);
  // config.json text that parse() reads back to this configuration (and transformers loads).
  std::string to_json() const;
};

// What parse() does with a top-level config.json key of `model_type`: kImplemented (read and
// computed as transformers does), kNoEffect (no effect on an inference forward pass: training,
// output-format or classification-head settings), kRefused (an error unless it holds the default
// value that this decoder computes), kUnknown (not a field of transformers' config class for the
// architecture, so transformers' modeling code never reads it either).
enum class ConfigFieldPolicy { kImplemented, kNoEffect, kRefused, kUnknown };
ConfigFieldPolicy config_field_policy(const std::string& model_type, const std::string& key);

}  // namespace cachegen
