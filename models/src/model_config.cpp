#include "cachegen/models/model_config.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <type_traits>

#include "cachegen/core/byte_io.h"
#include "cachegen/core/error.h"

namespace cachegen {

namespace {
using Json = nlohmann::json;

template <typename T>
T required(const Json& j, const char* key, const std::string& source) {
  if (!j.contains(key) || j[key].is_null())
    fail(source, ": missing key '", key, "'");
  // A float where an integer belongs (4e95, 2.5) is refused: converting it is undefined.
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    if (j[key].is_number_float())
      fail(source, ": key '", key, "' must be an integer (is ", j[key].dump(), ")");
  }
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

// Larger shapes than any released checkpoint's (a vocabulary of 16.7 M): a guard against
// corrupt files asking for absurd allocations.
constexpr int64_t kMaxDimension = int64_t{1} << 24;
constexpr int64_t kMaxLayers = 4096;  // 32x the deepest released decoder's

// The fields of transformers 5.17's LlamaConfig, MistralConfig and Qwen2Config (and their
// PreTrainedConfig base), plus the legacy names transformers still reads from config.json.
// `archs` lists the model types whose config class has the field ("" = all three).
struct FieldRule {
  const char* key;
  const char* archs;
  ConfigFieldPolicy policy;
};
constexpr ConfigFieldPolicy kImpl = ConfigFieldPolicy::kImplemented;
constexpr ConfigFieldPolicy kNone = ConfigFieldPolicy::kNoEffect;
constexpr ConfigFieldPolicy kRefuse = ConfigFieldPolicy::kRefused;
constexpr FieldRule kFieldRules[] = {
    {"model_type", "", kImpl},
    {"vocab_size", "", kImpl},
    {"hidden_size", "", kImpl},
    {"intermediate_size", "", kImpl},
    {"num_hidden_layers", "", kImpl},
    {"num_attention_heads", "", kImpl},
    {"num_key_value_heads", "", kImpl},
    {"head_dim", "", kImpl},  // Qwen2's attention reads it too, though its class lacks it
    {"max_position_embeddings", "", kImpl},
    {"rms_norm_eps", "", kImpl},
    {"rope_parameters", "", kImpl},
    {"rope_scaling", "", kImpl},  // transformers-4 name; takes precedence, as in transformers
    {"rope_theta", "", kImpl},    // transformers-4 place of rope_parameters.rope_theta
    {"original_max_position_embeddings", "", kImpl},  // overrides rope_parameters' (Phi-3 style)
    {"tie_word_embeddings", "", kImpl},
    {"dtype", "", kImpl},
    {"torch_dtype", "", kImpl},
    {"bos_token_id", "", kImpl},
    {"eos_token_id", "", kImpl},
    {"attention_bias", "llama", kImpl},
    {"mlp_bias", "llama", kImpl},
    {"sliding_window", "mistral qwen2", kImpl},
    {"use_sliding_window", "qwen2", kImpl},
    {"max_window_layers", "qwen2", kImpl},
    {"layer_types", "qwen2", kImpl},
    // Only SiLU (SwiGLU) is computed; an encoder-decoder is another model; the decoder reads no
    // quantized weights; partial rotation is not what these architectures' attention applies.
    {"hidden_act", "", kRefuse},
    {"is_encoder_decoder", "", kRefuse},
    {"architectures", "", kRefuse},  // only ...ForCausalLM heads
    {"quantization_config", "", kRefuse},
    {"partial_rotary_factor", "", kRefuse},
    // Training, output format and classification heads: no effect on an inference forward.
    {"initializer_range", "", kNone},
    {"attention_dropout", "", kNone},
    {"use_cache", "", kNone},
    {"pad_token_id", "", kNone},
    {"pretraining_tp", "llama", kNone},      // transformers 5's modeling no longer reads it
    {"chunk_size_feed_forward", "", kNone},  // unused by these architectures' modeling code
    {"output_hidden_states", "", kNone},
    {"output_attentions", "", kNone},
    {"return_dict", "", kNone},
    {"id2label", "", kNone},
    {"label2id", "", kNone},
    {"problem_type", "", kNone},
    {"transformers_version", "", kNone},
    {"_name_or_path", "", kNone},
};

bool has_arch(const char* archs, const std::string& model_type) {
  if (!*archs)
    return true;
  std::string list = std::string(" ") + archs + " ";
  return list.find(" " + model_type + " ") != std::string::npos;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A refused field present with a value other than the one this decoder computes: the reason.
std::string refusal(const std::string& key, const Json& value) {
  if (value.is_null())
    return "";
  if (key == "hidden_act")
    return value == "silu" ? "" : "only 'silu' (SwiGLU) is implemented";
  if (key == "is_encoder_decoder")
    return value == false ? "" : "encoder-decoder models are not supported";
  if (key == "partial_rotary_factor")
    return value.is_number() && value.get<double>() == 1.0 ? "" : "only full rotation (1.0)";
  if (key == "quantization_config")
    return "quantized checkpoints are not supported; dequantize to f32/bf16/f16 first";
  if (key == "architectures") {
    if (!value.is_array())
      return "not a list";
    for (const Json& a : value) {
      if (!a.is_string() || !ends_with(a.get<std::string>(), "ForCausalLM"))
        return "only causal-LM heads (...ForCausalLM) are supported, not " + a.dump();
    }
    return "";
  }
  return "not supported";
}

// transformers' class defaults that differ between the architectures.
int64_t default_max_positions(const std::string& model_type) {
  return model_type == "mistral" ? 131072 : model_type == "qwen2" ? 32768 : 2048;
}

RopeType rope_type_of(const std::string& name, const std::string& where) {
  for (RopeType t : {RopeType::kDefault, RopeType::kLinear, RopeType::kDynamic, RopeType::kYarn,
                     RopeType::kLlama3}) {
    if (name == rope_type_name(t))
      return t;
  }
  fail(where, ": rope type '", name,
       "' is not supported; supported: default, linear, dynamic, yarn, llama3");
}

// RoPE: rope_scaling (transformers 4) wins over rope_parameters (transformers 5), as in
// transformers' convert_rope_params_to_dict; rope_theta inside the dict wins over the top level.
void parse_rope(const Json& j, const std::string& source, ModelConfig& c) {
  const Json* rope = nullptr;
  std::string where = source;
  if (j.contains("rope_scaling") && j["rope_scaling"].is_object() && !j["rope_scaling"].empty()) {
    rope = &j["rope_scaling"];
    where += " rope_scaling";
  } else if (j.contains("rope_parameters") && j["rope_parameters"].is_object()) {
    rope = &j["rope_parameters"];
    where += " rope_parameters";
  }
  c.rope_theta = optional<double>(j, "rope_theta", 10000.0, source);
  if (!rope)
    return;
  for (const char* layer_type : {"full_attention", "sliding_attention"}) {
    if (rope->contains(layer_type))
      fail(where, ": per-layer-type RoPE parameters ('", layer_type, "') are not supported");
  }
  c.rope_theta = optional<double>(*rope, "rope_theta", c.rope_theta, where);
  if (rope->contains("partial_rotary_factor")) {
    std::string why = refusal("partial_rotary_factor", (*rope)["partial_rotary_factor"]);
    if (!why.empty())
      fail(where, ": key 'partial_rotary_factor' is not supported: ", why);
  }
  RopeScaling& s = c.rope_scaling;
  s.type = rope_type_of(
      optional<std::string>(*rope, "rope_type",
                            optional<std::string>(*rope, "type", "default", where), where),
      where);
  if (s.type == RopeType::kDefault)
    return;
  if (s.type == RopeType::kYarn || s.type == RopeType::kLlama3) {
    // transformers: a top-level original_max_position_embeddings wins; else the dict's; else
    // max_position_embeddings.
    s.original_max_position_embeddings =
        optional<int64_t>(j, "original_max_position_embeddings",
                          optional<int64_t>(*rope, "original_max_position_embeddings",
                                            c.max_position_embeddings, where),
                          source);
    if (s.original_max_position_embeddings <= 0)
      fail(where, ": key 'original_max_position_embeddings' must be positive");
  }
  if (s.type == RopeType::kYarn) {
    // A null factor means max_position_embeddings / original (DeepSeek-V3 style).
    s.factor = optional<double>(*rope, "factor",
                                static_cast<double>(c.max_position_embeddings) /
                                    static_cast<double>(s.original_max_position_embeddings),
                                where);
    s.attention_factor = optional<double>(*rope, "attention_factor", 0.0, where);
    // transformers reads `beta_fast or 32`: a 0 is the default too.
    s.beta_fast = optional<double>(*rope, "beta_fast", 0.0, where);
    s.beta_slow = optional<double>(*rope, "beta_slow", 0.0, where);
    s.beta_fast = s.beta_fast == 0 ? 32 : s.beta_fast;
    s.beta_slow = s.beta_slow == 0 ? 1 : s.beta_slow;
    s.mscale = optional<double>(*rope, "mscale", 0.0, where);
    s.mscale_all_dim = optional<double>(*rope, "mscale_all_dim", 0.0, where);
    s.truncate = optional<bool>(*rope, "truncate", true, where);
  } else {
    s.factor = required<double>(*rope, "factor", where);
  }
  if (s.type == RopeType::kLlama3) {
    s.low_freq_factor = required<double>(*rope, "low_freq_factor", where);
    s.high_freq_factor = required<double>(*rope, "high_freq_factor", where);
    if (s.high_freq_factor <= s.low_freq_factor)
      fail(where, ": 'high_freq_factor' must exceed 'low_freq_factor'");
  }
  if (!(s.factor > 0))
    fail(where, ": key 'factor' must be positive");
}

// Sliding windows: Mistral applies `sliding_window` (class default 4096, null = none) on every
// layer; Qwen2 only when use_sliding_window, on the layers that layer_types marks (default: those
// from max_window_layers on).
void parse_sliding(const Json& j, const std::string& source, ModelConfig& c) {
  const auto layers = static_cast<size_t>(c.num_hidden_layers);
  c.sliding_layers.assign(layers, false);
  // Absent: the class default 4096; null: no window; otherwise a positive token count.
  auto window = [&]() -> int64_t {
    if (!j.contains("sliding_window"))
      return 4096;
    int64_t w = optional<int64_t>(j, "sliding_window", 0, source);
    if (!j["sliding_window"].is_null() && w <= 0)
      fail(source, ": key 'sliding_window' must be positive or null (is ", w, ")");
    return w;
  };
  if (c.model_type == "mistral") {
    c.sliding_window = window();
    c.sliding_layers.assign(layers, c.sliding_window > 0);
  } else if (c.model_type == "qwen2") {
    bool use = optional<bool>(j, "use_sliding_window", false, source);
    c.sliding_window = use ? window() : 0;
    if (j.contains("layer_types") && !j["layer_types"].is_null()) {
      const Json& types = j["layer_types"];
      if (!types.is_array() || types.size() != layers) {
        fail(source, ": key 'layer_types' must list ", layers, " layer types");
      }
      for (size_t l = 0; l < layers; ++l) {
        if (types[l] == "sliding_attention") {
          c.sliding_layers[l] = true;
        } else if (types[l] != "full_attention") {
          fail(source, ": key 'layer_types' entry ", l, " is ", types[l].dump(),
               "; supported: full_attention, sliding_attention");
        }
      }
      bool any = std::find(c.sliding_layers.begin(), c.sliding_layers.end(), true) !=
                 c.sliding_layers.end();
      if (any && c.sliding_window <= 0) {
        fail(source, ": key 'layer_types' has sliding_attention layers but no sliding window ",
             "(use_sliding_window is false or sliding_window is null)");
      }
    } else if (c.sliding_window > 0) {
      int64_t first = optional<int64_t>(j, "max_window_layers", 28, source);
      for (size_t l = 0; l < layers; ++l)
        c.sliding_layers[l] = static_cast<int64_t>(l) >= first;
    }
  }
}
}  // namespace

const char* rope_type_name(RopeType type) {
  switch (type) {
    case RopeType::kDefault:
      return "default";
    case RopeType::kLinear:
      return "linear";
    case RopeType::kDynamic:
      return "dynamic";
    case RopeType::kYarn:
      return "yarn";
    case RopeType::kLlama3:
      return "llama3";
  }
  return "?";
}

ConfigFieldPolicy config_field_policy(const std::string& model_type, const std::string& key) {
  for (const FieldRule& rule : kFieldRules) {
    if (key == rule.key && has_arch(rule.archs, model_type))
      return rule.policy;
  }
  return ConfigFieldPolicy::kUnknown;
}

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
  if (!j.is_object())
    fail(source, ": not a JSON object");
  ModelConfig c;
  c.model_type = required<std::string>(j, "model_type", source);
  if (c.model_type != "llama" && c.model_type != "mistral" && c.model_type != "qwen2") {
    fail(source, ": key 'model_type' is '", c.model_type,
         "'; supported architectures: llama, mistral, qwen2");
  }
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (config_field_policy(c.model_type, it.key()) != ConfigFieldPolicy::kRefused)
      continue;
    std::string why = refusal(it.key(), it.value());
    if (!why.empty())
      fail(source, ": key '", it.key(), "' = ", it.value().dump(), " is not supported: ", why);
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
  for (auto [key, value] : {std::pair<const char*, int64_t>{"vocab_size", c.vocab_size},
                            {"hidden_size", c.hidden_size},
                            {"intermediate_size", c.intermediate_size},
                            {"num_hidden_layers", c.num_hidden_layers},
                            {"num_attention_heads", c.num_attention_heads},
                            {"num_key_value_heads", c.num_key_value_heads},
                            {"head_dim", c.head_dim}}) {
    const int64_t most = key == std::string("num_hidden_layers") ? kMaxLayers : kMaxDimension;
    if (value <= 0 || value > most)
      fail(source, ": key '", key, "' must be in [1, ", most, "] (is ", value, ")");
  }
  if (c.num_attention_heads % c.num_key_value_heads != 0) {
    fail(source, ": num_attention_heads (", c.num_attention_heads,
         ") is not a multiple of num_key_value_heads (", c.num_key_value_heads, ")");
  }
  if (c.head_dim % 2 != 0)
    fail(source, ": key 'head_dim' must be even for rotary embeddings (is ", c.head_dim, ")");
  c.max_position_embeddings =
      optional<int64_t>(j, "max_position_embeddings", default_max_positions(c.model_type), source);
  c.rms_norm_eps = optional<double>(j, "rms_norm_eps", 1e-6, source);
  parse_rope(j, source, c);
  parse_sliding(j, source, c);
  c.tie_word_embeddings = optional<bool>(j, "tie_word_embeddings", false, source);
  if (c.model_type == "llama") {
    c.qkv_bias = c.output_bias = optional<bool>(j, "attention_bias", false, source);
    c.mlp_bias = optional<bool>(j, "mlp_bias", false, source);
  } else {
    // Qwen2's q/k/v always carry a bias and Mistral's never: their modeling code ignores
    // attention_bias and mlp_bias.
    c.qkv_bias = c.model_type == "qwen2";
  }
  c.torch_dtype = optional<std::string>(
      j, "dtype", optional<std::string>(j, "torch_dtype", "float32", source), source);
  c.bos_token_id = optional<int64_t>(j, "bos_token_id", -1, source);
  if (j.contains("eos_token_id") && j["eos_token_id"].is_array()) {
    const Json& ids = j["eos_token_id"];
    if (!ids.empty() && !ids[0].is_number_integer())
      fail(source, ": key 'eos_token_id' must be an integer or a list of integers");
    c.eos_token_id = ids.empty() ? -1 : ids[0].get<int64_t>();
  } else {
    c.eos_token_id = optional<int64_t>(j, "eos_token_id", -1, source);
  }
  return c;
}

std::string ModelConfig::to_json() const {
  nlohmann::ordered_json j;
  j["architectures"] = {model_type == "qwen2"     ? "Qwen2ForCausalLM"
                        : model_type == "mistral" ? "MistralForCausalLM"
                                                  : "LlamaForCausalLM"};
  j["model_type"] = model_type;
  j["vocab_size"] = vocab_size;
  j["hidden_size"] = hidden_size;
  j["intermediate_size"] = intermediate_size;
  j["num_hidden_layers"] = num_hidden_layers;
  j["num_attention_heads"] = num_attention_heads;
  j["num_key_value_heads"] = num_key_value_heads;
  j["head_dim"] = head_dim;
  j["max_position_embeddings"] = max_position_embeddings;
  j["rms_norm_eps"] = rms_norm_eps;
  nlohmann::ordered_json rope;
  rope["rope_type"] = rope_type_name(rope_scaling.type);
  rope["rope_theta"] = rope_theta;
  const RopeScaling& s = rope_scaling;
  if (s.type != RopeType::kDefault)
    rope["factor"] = s.factor;
  if (s.type == RopeType::kYarn || s.type == RopeType::kLlama3)
    rope["original_max_position_embeddings"] = s.original_max_position_embeddings;
  if (s.type == RopeType::kLlama3) {
    rope["low_freq_factor"] = s.low_freq_factor;
    rope["high_freq_factor"] = s.high_freq_factor;
  }
  if (s.type == RopeType::kYarn) {
    if (s.attention_factor != 0)
      rope["attention_factor"] = s.attention_factor;
    rope["beta_fast"] = s.beta_fast;
    rope["beta_slow"] = s.beta_slow;
    if (s.mscale != 0)
      rope["mscale"] = s.mscale;
    if (s.mscale_all_dim != 0)
      rope["mscale_all_dim"] = s.mscale_all_dim;
    rope["truncate"] = s.truncate;
  }
  j["rope_parameters"] = rope;
  j["hidden_act"] = "silu";
  j["tie_word_embeddings"] = tie_word_embeddings;
  if (model_type == "llama") {
    j["attention_bias"] = qkv_bias;
    j["mlp_bias"] = mlp_bias;
  }
  if (model_type == "mistral")
    j["sliding_window"] = sliding_window > 0 ? Json(sliding_window) : Json();
  if (model_type == "qwen2") {
    j["use_sliding_window"] = sliding_window > 0;
    j["sliding_window"] = sliding_window > 0 ? Json(sliding_window) : Json();
    if (sliding_layers.size() == static_cast<size_t>(num_hidden_layers)) {
      nlohmann::ordered_json types = nlohmann::ordered_json::array();
      for (bool sliding : sliding_layers)
        types.push_back(sliding ? "sliding_attention" : "full_attention");
      j["layer_types"] = types;
    }
  }
  j["dtype"] = "float32";
  if (bos_token_id >= 0)
    j["bos_token_id"] = bos_token_id;
  if (eos_token_id >= 0)
    j["eos_token_id"] = eos_token_id;
  return j.dump(2) + "\n";
}

}  // namespace cachegen
