// A Llama-family decoder's configuration, read from a Hugging Face config.json. Supported
// model_type values: llama (Llama 2/3, with Llama-3 rope scaling), mistral, qwen2 (QKV bias).
#pragma once

#include <cstdint>
#include <string>

namespace cachegen {

struct RopeScaling {  // Llama-3 "rope_type": "llama3"; factor 0 = none
  double factor = 0;
  double low_freq_factor = 1;
  double high_freq_factor = 4;
  int64_t original_max_position_embeddings = 8192;
};

struct ModelConfig {
  std::string model_type;  // llama | mistral | qwen2
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;
  int64_t head_dim = 0;
  int64_t max_position_embeddings = 0;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000;
  RopeScaling rope_scaling;
  bool tie_word_embeddings = false;
  bool attention_bias = false;  // q/k/v projections carry a bias (Qwen2)
  std::string torch_dtype = "float32";
  int64_t bos_token_id = -1;
  int64_t eos_token_id = -1;

  // Throws naming the file and key for a missing, mistyped or unsupported entry.
  static ModelConfig load(const std::string& path);
  static ModelConfig parse(const std::string& json_text, const std::string& source);
};

}  // namespace cachegen
