#include "cachegen/models/model_config.h"

#include <gtest/gtest.h>

#include "cachegen/core/error.h"

namespace cachegen {
namespace {

std::string error_of(const std::string& json) {
  try {
    ModelConfig::parse(json, "config.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ModelConfig, ParsesLlama3RopeScalingAndDefaults) {
  ModelConfig c = ModelConfig::parse(R"({"model_type": "llama", "vocab_size": 100,
      "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
      "num_attention_heads": 4, "num_key_value_heads": 2, "rope_theta": 500000.0,
      "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
      "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}})",
                                     "c");
  EXPECT_EQ(c.head_dim, 16);
  EXPECT_EQ(c.rope_scaling.factor, 8.0);
  EXPECT_FALSE(c.attention_bias);
  ModelConfig q = ModelConfig::parse(R"({"model_type": "qwen2", "vocab_size": 100,
      "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
      "num_attention_heads": 4})",
                                     "c");
  EXPECT_TRUE(q.attention_bias);
  EXPECT_EQ(q.num_key_value_heads, 4);
}

TEST(ModelConfig, ErrorsNameTheKey) {
  EXPECT_NE(
      error_of(R"({"model_type": "gpt2"})").find("supported architectures: llama, mistral, qwen2"),
      std::string::npos);
  EXPECT_NE(
      error_of(R"({"model_type": "llama", "vocab_size": 10})").find("missing key 'hidden_size'"),
      std::string::npos);
  EXPECT_NE(error_of(R"({"model_type": "llama", "vocab_size": "ten"})")
                .find("key 'vocab_size' has the wrong type"),
            std::string::npos);
  EXPECT_NE(error_of("{not json").find("not valid JSON"), std::string::npos);
}

}  // namespace
}  // namespace cachegen
