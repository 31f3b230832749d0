#include "cachegen/models/train_recipe.h"

#include <cmath>

#include "cachegen/core/error.h"
#include "cachegen/core/yaml_config.h"

namespace cachegen {

namespace {
// An integer key in [min, max] (or the fallback when absent); errors name the line and key.
int64_t integer_in(YamlMap& map, const std::string& key, int64_t fallback, int64_t min, int64_t max,
                   const YAML::Node& node) {
  const int64_t value = map.get<int64_t>(key, fallback);
  if (value < min || value > max) {
    fail(map.has(key) ? map.at(node[key]) : map.source() + ": ", "key '", map.path(key),
         "' = ", value, " is out of range [", min, ", ", max, "]");
  }
  return value;
}
}  // namespace

TrainRecipe TrainRecipe::load(const std::string& path) {
  YAML::Node root = load_yaml_file(path);
  if (!root.IsMap())
    fail(path, ": a training recipe is a mapping of keys to values");
  TrainRecipe r;
  r.source = path;
  YamlMap top(root, "", path);
  r.output = top.require<std::string>("output");
  r.tokenizer = top.require<std::string>("tokenizer");
  r.corpus = top.require<std::string>("corpus");
  r.seed = top.get<uint64_t>("seed", 1);
  r.threads = static_cast<int>(integer_in(top, "threads", 0, 0, 4096, root));
  r.device = top.get_choice("device", "cpu", {"cpu", "cuda"});
  r.init = top.get<std::string>("init", "");
  for (const char* section : {"model", "data", "training"}) {
    top.allow(section);
    if (root[section] && !root[section].IsMap())
      fail(top.at(root[section]), "key '", section, "' must be a mapping");
  }
  top.finish();

  const YAML::Node model = root["model"];
  if (!model)
    fail(path, ": missing key 'model'");
  YamlMap m(model, "model", path);
  // qwen2: Llama's layers plus q/k/v biases, which let a head attend by position alone
  // (the previous token, say) without a constant direction in the residual stream.
  r.model.model_type = m.get_choice("architecture", "llama", {"llama", "qwen2"});
  r.model.qkv_bias = r.model.model_type == "qwen2";
  constexpr int64_t kMaxDimension = 1 << 16;
  if (!m.has("hidden_size") || !m.has("intermediate_size") || !m.has("num_hidden_layers") ||
      !m.has("num_attention_heads")) {
    fail(path,
         ": key 'model' needs hidden_size, intermediate_size, num_hidden_layers and "
         "num_attention_heads");
  }
  r.model.hidden_size = integer_in(m, "hidden_size", 0, 2, kMaxDimension, model);
  r.model.intermediate_size = integer_in(m, "intermediate_size", 0, 1, kMaxDimension, model);
  r.model.num_hidden_layers = integer_in(m, "num_hidden_layers", 0, 1, 1024, model);
  r.model.num_attention_heads = integer_in(m, "num_attention_heads", 0, 1, 1024, model);
  r.model.num_key_value_heads = integer_in(m, "num_key_value_heads", r.model.num_attention_heads, 1,
                                           r.model.num_attention_heads, model);
  r.model.max_position_embeddings =
      integer_in(m, "max_position_embeddings", 2048, 1, int64_t{1} << 24, model);
  r.model.rope_theta = m.get_number("rope_theta", 10000.0, 1.0, 1e12);
  r.model.tie_word_embeddings = m.get<bool>("tie_word_embeddings", false);
  m.finish();
  if (r.model.hidden_size % r.model.num_attention_heads != 0 ||
      r.model.num_attention_heads % r.model.num_key_value_heads != 0 ||
      (r.model.hidden_size / r.model.num_attention_heads) % 2 != 0) {
    fail(path, ": key 'model': hidden_size (", r.model.hidden_size,
         ") must be an even head size times num_attention_heads (", r.model.num_attention_heads,
         "), a multiple of num_key_value_heads (", r.model.num_key_value_heads, ")");
  }
  r.model.head_dim = r.model.hidden_size / r.model.num_attention_heads;

  const YAML::Node data = root["data"];
  YamlMap d(data, "data", path);
  constexpr int64_t kMaxTokens = int64_t{1} << 20;
  r.retrieval_fraction = d.get_number("retrieval_fraction", r.retrieval_fraction, 0, 1);
  r.copy_fraction = d.get_number("copy_fraction", r.copy_fraction, 0, 1);
  r.copy_tokens = integer_in(d, "copy_tokens", r.copy_tokens, 8, kMaxTokens, data);
  r.longeval_fraction = d.get_number("longeval_fraction", r.longeval_fraction, 0, 1);
  r.longeval_path = d.get<std::string>("longeval_path", "");
  r.min_episode_tokens =
      integer_in(d, "min_episode_tokens", r.min_episode_tokens, 32, kMaxTokens, data);
  r.max_episode_tokens =
      integer_in(d, "max_episode_tokens", r.max_episode_tokens, 32, kMaxTokens, data);
  r.questions_per_episode =
      integer_in(d, "questions_per_episode", r.questions_per_episode, 1, 1 << 16, data);
  r.curriculum_start_tokens =
      integer_in(d, "curriculum_start_tokens", r.max_episode_tokens, 32, kMaxTokens, data);
  r.curriculum_steps = integer_in(d, "curriculum_steps", r.curriculum_steps, 0, 1 << 30, data);
  d.finish();

  const YAML::Node training = root["training"];
  YamlMap t(training, "training", path);
  r.steps = integer_in(t, "steps", r.steps, 1, 1 << 30, training);
  r.batch_size = integer_in(t, "batch_size", r.batch_size, 1, 1 << 16, training);
  r.seq_len = integer_in(t, "seq_len", r.seq_len, 2, kMaxTokens, training);
  r.learning_rate = t.get_number("learning_rate", r.learning_rate, 1e-12, 10);
  r.warmup_steps = integer_in(t, "warmup_steps", r.warmup_steps, 0, 1 << 30, training);
  r.weight_decay = t.get_number("weight_decay", r.weight_decay, 0, 10);
  r.max_minutes = t.get_number("max_minutes", r.max_minutes, 0, 1e7);
  r.log_every = integer_in(t, "log_every", r.log_every, 1, 1 << 30, training);
  r.save_every = integer_in(t, "save_every", r.save_every, 1, 1 << 30, training);
  t.finish();

  if (r.max_episode_tokens < r.min_episode_tokens ||
      r.retrieval_fraction + r.copy_fraction + r.longeval_fraction > 1 ||
      r.curriculum_start_tokens < r.min_episode_tokens ||
      r.curriculum_start_tokens > r.max_episode_tokens) {
    fail(path,
         ": data values disagree (min_episode_tokens <= curriculum_start_tokens <= "
         "max_episode_tokens; retrieval_fraction + copy_fraction + longeval_fraction <= 1)");
  }
  if (r.longeval_fraction > 0 && r.longeval_path.empty())
    fail(path, ": key 'data.longeval_fraction' is ", r.longeval_fraction,
         " but 'data.longeval_path' names no file of LongEval cases");
  return r;
}

}  // namespace cachegen
