#include "cachegen/models/model_config.h"

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>

#include "cachegen/core/byte_io.h"
#include "cachegen/core/error.h"
#include "hf_fixtures.h"

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
  EXPECT_EQ(c.rope_scaling.type, RopeType::kLlama3);
  EXPECT_EQ(c.rope_scaling.factor, 8.0);
  EXPECT_EQ(c.max_position_embeddings, 2048);  // LlamaConfig's default
  EXPECT_FALSE(c.qkv_bias);
  ModelConfig q = ModelConfig::parse(R"({"model_type": "qwen2", "vocab_size": 100,
      "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
      "num_attention_heads": 4})",
                                     "c");
  EXPECT_TRUE(q.qkv_bias);
  EXPECT_FALSE(q.output_bias);
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

// A config.json of `model_type` with the required fields and `extra` fields added.
std::string config_with(const std::string& model_type, const std::string& extra) {
  return R"({"model_type": ")" + model_type + R"(", "vocab_size": 100, "hidden_size": 64,
      "intermediate_size": 128, "num_hidden_layers": 3, "num_attention_heads": 4)" +
         (extra.empty() ? "" : ", " + extra) + "}";
}

TEST(ModelConfig, RopeTypesInBothSpellings) {
  ModelConfig linear = ModelConfig::parse(
      config_with("llama", R"("rope_theta": 5000.0, "rope_scaling": {"type": "linear",
      "factor": 8.0})"),
      "c");
  EXPECT_EQ(linear.rope_scaling.type, RopeType::kLinear);
  EXPECT_EQ(linear.rope_theta, 5000.0);
  EXPECT_EQ(linear.rope_scaling.factor, 8.0);
  // transformers: rope_scaling wins over rope_parameters; the dict's rope_theta over the top's.
  ModelConfig both = ModelConfig::parse(
      config_with("llama", R"("rope_theta": 5000.0, "rope_scaling": {"rope_type": "dynamic",
      "factor": 2.0, "rope_theta": 7000.0}, "rope_parameters": {"rope_type": "linear",
      "factor": 4.0})"),
      "c");
  EXPECT_EQ(both.rope_scaling.type, RopeType::kDynamic);
  EXPECT_EQ(both.rope_theta, 7000.0);
  ModelConfig yarn = ModelConfig::parse(
      config_with("qwen2", R"("max_position_embeddings": 131072, "rope_parameters": {
      "rope_type": "yarn", "rope_theta": 1000000.0, "factor": null,
      "original_max_position_embeddings": 32768, "beta_fast": 0})"),
      "c");
  EXPECT_EQ(yarn.rope_scaling.type, RopeType::kYarn);
  EXPECT_EQ(yarn.rope_scaling.factor, 4.0);      // max / original when null
  EXPECT_EQ(yarn.rope_scaling.beta_fast, 32.0);  // `beta_fast or 32`
  EXPECT_EQ(yarn.rope_scaling.beta_slow, 1.0);
  // A top-level original_max_position_embeddings wins (Phi-3 style).
  ModelConfig top = ModelConfig::parse(
      config_with("llama", R"("original_max_position_embeddings": 1024, "rope_parameters": {
      "rope_type": "yarn", "factor": 2.0, "original_max_position_embeddings": 4096})"),
      "c");
  EXPECT_EQ(top.rope_scaling.original_max_position_embeddings, 1024);
}

TEST(ModelConfig, SlidingWindowsAndBiasesPerArchitecture) {
  ModelConfig mistral =
      ModelConfig::parse(config_with("mistral", R"("attention_bias": true)"), "c");
  EXPECT_EQ(mistral.sliding_window, 4096);  // MistralConfig's default when the key is absent
  EXPECT_EQ(mistral.attention_window(2), 4096);
  EXPECT_FALSE(mistral.qkv_bias);  // Mistral's modeling code has no biases
  ModelConfig none = ModelConfig::parse(config_with("mistral", R"("sliding_window": null)"), "c");
  EXPECT_EQ(none.attention_window(0), 0);
  ModelConfig qwen =
      ModelConfig::parse(config_with("qwen2", R"("use_sliding_window": true, "sliding_window": 64,
      "max_window_layers": 2)"),
                         "c");
  EXPECT_EQ(qwen.attention_window(1), 0);
  EXPECT_EQ(qwen.attention_window(2), 64);
  ModelConfig qwen_off = ModelConfig::parse(
      config_with("qwen2", R"("sliding_window": 64, "max_window_layers": 0)"), "c");
  EXPECT_EQ(qwen_off.attention_window(2), 0);  // use_sliding_window defaults to false
  ModelConfig llama = ModelConfig::parse(
      config_with("llama", R"("attention_bias": true, "mlp_bias": true, "head_dim": 24)"), "c");
  EXPECT_TRUE(llama.qkv_bias && llama.output_bias && llama.mlp_bias);
  EXPECT_EQ(llama.head_dim, 24);
  EXPECT_EQ(ModelConfig::parse(llama.to_json(), "again").to_json(), llama.to_json());
  EXPECT_EQ(ModelConfig::parse(qwen.to_json(), "again").to_json(), qwen.to_json());
}

TEST(ModelConfig, UnsupportedSettingsAreErrorsNamingTheKey) {
  struct Case {
    std::string model_type, extra, message;
  };
  for (const Case& c : std::vector<Case>{
           {"llama", R"("rope_scaling": {"rope_type": "longrope", "factor": 2.0})",
            "rope type 'longrope' is not supported"},
           {"llama", R"("rope_parameters": {"full_attention": {"rope_type": "default"}})",
            "per-layer-type RoPE parameters ('full_attention')"},
           {"llama", R"("rope_parameters": {"rope_type": "linear", "partial_rotary_factor": 0.5,
            "factor": 2.0})",
            "key 'partial_rotary_factor' is not supported"},
           {"llama", R"("rope_parameters": {"rope_type": "linear"})", "missing key 'factor'"},
           {"qwen2", R"("layer_types": ["full_attention", "sliding_attention", "full_attention"])",
            "key 'layer_types' has sliding_attention layers but no sliding window"},
           {"qwen2", R"("layer_types": ["full_attention"])", "key 'layer_types' must list 3"},
           {"llama", R"("head_dim": 15)", "key 'head_dim' must be even"},
           // Found by fuzz_model_config: a float converted to an integer was undefined.
           {"llama", R"("max_position_embeddings": 4e95)",
            "key 'max_position_embeddings' must be an integer (is 4e+95)"},
           // Found by fuzz_model_config: 3.3 M layers took seconds to write out and read back.
           {"qwen2", R"("num_hidden_layers": 3333334)",
            "key 'num_hidden_layers' must be in [1, 4096] (is 3333334)"},
           {"llama", R"("vocab_size": 100000000)", "key 'vocab_size' must be in [1, 16777216]"},
           {"mistral", R"("sliding_window": 0)", "key 'sliding_window' must be positive or null"},
           {"llama", R"("eos_token_id": ["x"])", "key 'eos_token_id' must be an integer"},
       }) {
    std::string error = error_of(config_with(c.model_type, c.extra));
    EXPECT_NE(error.find(c.message), std::string::npos) << c.extra << " -> " << error;
  }
}

// Values of the refused fields that the decoder does not compute: each must be an error naming
// the field (and the value transformers' defaults give must load).
const std::map<std::string, std::string>& refused_probes() {
  static const std::map<std::string, std::string> probes = {
      {"hidden_act", R"("gelu")"},
      {"is_encoder_decoder", "true"},
      {"architectures", R"(["LlamaForSequenceClassification"])"},
      {"quantization_config", R"({"quant_method": "gptq", "bits": 4})"},
      {"partial_rotary_factor", "0.5"},
  };
  return probes;
}

// Walks the fields of transformers' LlamaConfig, MistralConfig and Qwen2Config (listed by
// make_hf_reference.py from the installed transformers): every one is implemented, has no effect
// on inference, or is refused with an error naming it.
TEST(ModelConfig, EveryTransformersFieldIsImplementedOrRefused) {
  const std::string dir = hf_fixture_dir("reference");
  ASSERT_FALSE(dir.empty());
  std::vector<uint8_t> bytes = read_file(dir + "/config_fields.json");
  nlohmann::json fields = nlohmann::json::parse(bytes.begin(), bytes.end());
  ASSERT_EQ(fields.size(), 3u);
  for (auto it = fields.begin(); it != fields.end(); ++it) {
    const std::string model_type = it.key();
    ASSERT_GT(it.value().size(), 20u) << model_type;
    for (const auto& field : it.value()) {
      const std::string key = field.get<std::string>();
      ConfigFieldPolicy policy = config_field_policy(model_type, key);
      EXPECT_NE(policy, ConfigFieldPolicy::kUnknown)
          << model_type << " field '" << key << "' is neither implemented nor refused";
      if (policy != ConfigFieldPolicy::kRefused)
        continue;
      auto probe = refused_probes().find(key);
      ASSERT_NE(probe, refused_probes().end()) << "no probe for refused field " << key;
      std::string error = error_of(config_with(model_type, "\"" + key + "\": " + probe->second));
      EXPECT_NE(error.find("key '" + key + "'"), std::string::npos) << key << ": " << error;
    }
  }
  for (const auto& [key, value] : refused_probes()) {
    EXPECT_EQ(config_field_policy("llama", key), ConfigFieldPolicy::kRefused) << key;
    EXPECT_NE(error_of(config_with("mistral", "\"" + key + "\": " + value)), "") << key;
  }
  // Defaults load: SiLU, a decoder-only causal LM, full rotation, no quantization.
  EXPECT_EQ(error_of(config_with("llama", R"("hidden_act": "silu", "is_encoder_decoder": false,
      "architectures": ["LlamaForCausalLM"], "partial_rotary_factor": 1.0,
      "quantization_config": null)")),
            "");
}

}  // namespace
}  // namespace cachegen
