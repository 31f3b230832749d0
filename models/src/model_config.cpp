#include "cachegen/models/model_config.h"

#include <nlohmann/json.hpp>

#include "cachegen/core/byte_io.h"
#include "cachegen/core/error.h"

namespace cachegen {

namespace {
using Json = nlohmann::json;

template <typename T>
T required(const Json& j, const char* key, const std::string& source) {
  if (!j.contains(key) || j[key].is_null())
    fail(source, ": missing key '", key, "'");
  try {
    return j[key].get<T>();
  } catch (const Json::exception&) {
    fail(source, ": key '", key, "' has the wrong type (", j[key].type_name(), ")");
  }
}

template <typename T>
T optional(const Json& j, const char* key, T fallback, const std::string& source) {
  if (!j.contains(key) || j[key].is_null())
    return fallback;
  return required<T>(j, key, source);
}
}  // namespace

ModelConfig ModelConfig::load(const std::string& path) {
  std::vector<uint8_t> bytes = read_file(path);
  return parse(std::string(bytes.begin(), bytes.end()), path);
}

ModelConfig ModelConfig::parse(const std::string& json_text, const std::string& source) {
  Json j;
  try {
    j = Json::parse(json_text);
  } catch (const Json::exception& e) {
    fail(source, ": not valid JSON: ", e.what());
  }
  ModelConfig c;
  c.model_type = required<std::string>(j, "model_type", source);
  if (c.model_type != "llama" && c.model_type != "mistral" && c.model_type != "qwen2") {
    fail(source, ": key 'model_type' is '", c.model_type,
         "'; supported architectures: llama, mistral, qwen2");
  }
  c.vocab_size = required<int64_t>(j, "vocab_size", source);
  c.hidden_size = required<int64_t>(j, "hidden_size", source);
  c.intermediate_size = required<int64_t>(j, "intermediate_size", source);
  c.num_hidden_layers = required<int64_t>(j, "num_hidden_layers", source);
  c.num_attention_heads = required<int64_t>(j, "num_attention_heads", source);
  c.num_key_value_heads =
      optional<int64_t>(j, "num_key_value_heads", c.num_attention_heads, source);
  c.head_dim = optional<int64_t>(j, "head_dim", 0, source);
  if (c.head_dim == 0 && c.num_attention_heads > 0)
    c.head_dim = c.hidden_size / c.num_attention_heads;
  c.max_position_embeddings = optional<int64_t>(j, "max_position_embeddings", 4096, source);
  c.rms_norm_eps = optional<double>(j, "rms_norm_eps", 1e-6, source);
  c.rope_theta = optional<double>(j, "rope_theta", 10000.0, source);
  if (j.contains("rope_parameters") && j["rope_parameters"].is_object()) {
    // transformers 5 moves rope_theta (and scaling) into rope_parameters.
    const Json& rp = j["rope_parameters"];
    c.rope_theta = optional<double>(rp, "rope_theta", c.rope_theta, source + " rope_parameters");
  }
  const Json* scaling = nullptr;
  if (j.contains("rope_scaling") && j["rope_scaling"].is_object())
    scaling = &j["rope_scaling"];
  if (j.contains("rope_parameters") && j["rope_parameters"].is_object() &&
      j["rope_parameters"].contains("rope_type")) {
    scaling = &j["rope_parameters"];
  }
  if (scaling) {
    std::string where = source + " rope scaling";
    std::string type = optional<std::string>(
        *scaling, "rope_type", optional<std::string>(*scaling, "type", "", where), where);
    if (type == "llama3") {
      c.rope_scaling.factor = required<double>(*scaling, "factor", where);
      c.rope_scaling.low_freq_factor = required<double>(*scaling, "low_freq_factor", where);
      c.rope_scaling.high_freq_factor = required<double>(*scaling, "high_freq_factor", where);
      c.rope_scaling.original_max_position_embeddings =
          required<int64_t>(*scaling, "original_max_position_embeddings", where);
    } else if (!type.empty() && type != "default") {
      fail(where, ": rope type '", type, "' is not supported; supported: default, llama3");
    }
  }
  c.tie_word_embeddings = optional<bool>(j, "tie_word_embeddings", false, source);
  c.attention_bias = optional<bool>(j, "attention_bias", c.model_type == "qwen2", source);
  c.torch_dtype = optional<std::string>(
      j, "torch_dtype", optional<std::string>(j, "dtype", "float32", source), source);
  c.bos_token_id = optional<int64_t>(j, "bos_token_id", -1, source);
  if (j.contains("eos_token_id") && j["eos_token_id"].is_array()) {
    c.eos_token_id = j["eos_token_id"].empty() ? -1 : j["eos_token_id"][0].get<int64_t>();
  } else {
    c.eos_token_id = optional<int64_t>(j, "eos_token_id", -1, source);
  }
  for (auto [key, value] : {std::pair<const char*, int64_t>{"vocab_size", c.vocab_size},
                            {"hidden_size", c.hidden_size},
                            {"intermediate_size", c.intermediate_size},
                            {"num_hidden_layers", c.num_hidden_layers},
                            {"num_attention_heads", c.num_attention_heads},
                            {"num_key_value_heads", c.num_key_value_heads},
                            {"head_dim", c.head_dim}}) {
    if (value <= 0)
      fail(source, ": key '", key, "' must be positive");
  }
  if (c.num_attention_heads % c.num_key_value_heads != 0) {
    fail(source, ": num_attention_heads (", c.num_attention_heads,
         ") is not a multiple of num_key_value_heads (", c.num_key_value_heads, ")");
  }
  return c;
}

}  // namespace cachegen
