#include "cachegen/models/trainer.h"

#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adamw.h>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <random>
#include <set>

#include "cachegen/core/byte_io.h"
#include "cachegen/core/error.h"
#include "cachegen/core/parallel.h"
#include "cachegen/core/timer.h"
#include "cachegen/models/line_retrieval.h"
#include "cachegen/models/tokenizer.h"
#include "llama_impl.h"

namespace cachegen {

namespace {
// Reads typed keys from one YAML mapping and rejects the ones nobody read.
class YamlSection {
 public:
  YamlSection(const YAML::Node& node, std::string where, std::string source)
      : node_(node), where_(std::move(where)), source_(std::move(source)) {
    if (node_ && !node_.IsMap())
      fail(source_, ": '", where_, "' must be a mapping");
  }
  template <typename T>
  T get(const std::string& key, T fallback) {
    known_.insert(key);
    if (!node_ || !node_[key])
      return fallback;
    try {
      return node_[key].template as<T>();
    } catch (const YAML::Exception&) {
      fail(source_, " line ", node_[key].Mark().line + 1, ": key '", where_, ".", key,
           "' has the wrong type");
    }
  }
  template <typename T>
  T require(const std::string& key) {
    if (!node_ || !node_[key])
      fail(source_, ": missing key '", where_, ".", key, "'");
    return get<T>(key, T());
  }
  void allow(const std::string& key) { known_.insert(key); }  // a sub-section read elsewhere
  void finish() const {
    if (!node_)
      return;
    for (auto it = node_.begin(); it != node_.end(); ++it) {
      auto key = it->first.as<std::string>();
      if (!known_.count(key)) {
        std::string valid;
        for (const auto& k : known_)
          valid += (valid.empty() ? "" : ", ") + k;
        fail(source_, " line ", it->first.Mark().line + 1, ": unknown key '", where_, ".", key,
             "'; valid: ", valid);
      }
    }
  }

 private:
  YAML::Node node_;
  std::string where_, source_;
  std::set<std::string> known_;
};
}  // namespace

TrainRecipe TrainRecipe::load(const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    fail(path, ": not valid YAML: ", e.what());
  }
  TrainRecipe r;
  r.source = path;
  YamlSection top(root, "recipe", path);
  r.output = top.require<std::string>("output");
  r.tokenizer = top.require<std::string>("tokenizer");
  r.corpus = top.require<std::string>("corpus");
  r.seed = top.get<uint64_t>("seed", 1);
  r.threads = top.get<int>("threads", 0);
  YamlSection m(root["model"], "model", path);
  r.model.model_type = "llama";
  r.model.hidden_size = m.require<int64_t>("hidden_size");
  r.model.intermediate_size = m.require<int64_t>("intermediate_size");
  r.model.num_hidden_layers = m.require<int64_t>("num_hidden_layers");
  r.model.num_attention_heads = m.require<int64_t>("num_attention_heads");
  r.model.num_key_value_heads = m.get<int64_t>("num_key_value_heads", r.model.num_attention_heads);
  r.model.max_position_embeddings = m.get<int64_t>("max_position_embeddings", 2048);
  r.model.rope_theta = m.get<double>("rope_theta", 10000.0);
  r.model.head_dim = r.model.hidden_size / r.model.num_attention_heads;
  m.finish();
  YamlSection d(root["data"], "data", path);
  r.retrieval_fraction = d.get<double>("retrieval_fraction", r.retrieval_fraction);
  r.min_episode_tokens = d.get<int64_t>("min_episode_tokens", r.min_episode_tokens);
  r.max_episode_tokens = d.get<int64_t>("max_episode_tokens", r.max_episode_tokens);
  r.questions_per_episode = d.get<int64_t>("questions_per_episode", r.questions_per_episode);
  d.finish();
  YamlSection t(root["training"], "training", path);
  r.steps = t.get<int64_t>("steps", r.steps);
  r.batch_size = t.get<int64_t>("batch_size", r.batch_size);
  r.seq_len = t.get<int64_t>("seq_len", r.seq_len);
  r.learning_rate = t.get<double>("learning_rate", r.learning_rate);
  r.warmup_steps = t.get<int64_t>("warmup_steps", r.warmup_steps);
  r.weight_decay = t.get<double>("weight_decay", r.weight_decay);
  r.max_minutes = t.get<double>("max_minutes", r.max_minutes);
  r.log_every = t.get<int64_t>("log_every", r.log_every);
  r.save_every = t.get<int64_t>("save_every", r.save_every);
  t.finish();
  for (const char* section : {"model", "data", "training"})
    top.allow(section);
  top.finish();
  if (r.steps < 1 || r.batch_size < 1 || r.seq_len < 2 || r.min_episode_tokens < 32 ||
      r.max_episode_tokens < r.min_episode_tokens || r.retrieval_fraction < 0 ||
      r.retrieval_fraction > 1 || r.learning_rate <= 0 || r.questions_per_episode < 1) {
    fail(path,
         ": training and data values are out of range (steps, batch_size >= 1; seq_len >= 2; "
         "32 <= min_episode_tokens <= max_episode_tokens; 0 <= retrieval_fraction <= 1)");
  }
  return r;
}

void train_model(const TrainRecipe& recipe, std::ostream& log) {
  Tokenizer tokenizer = Tokenizer::load(recipe.tokenizer);
  ModelConfig config = recipe.model;
  config.vocab_size = tokenizer.vocab_size();
  config.bos_token_id = tokenizer.bos_id();
  config.eos_token_id = tokenizer.token_id("<|end_of_text|>");
  auto model =
      LlamaModel::random(config, recipe.seed, ModelLoadOptions{"cpu", "f32", recipe.threads});
  LlamaModel::Impl& m = model->impl();
  std::vector<at::Tensor> params;
  for (auto& [name, w] : m.named_weights())
    params.push_back(w.requires_grad_(true));

  std::vector<uint8_t> text_bytes = read_file(recipe.corpus);
  Stopwatch clock;
  std::vector<int32_t> corpus = tokenizer.encode(std::string(text_bytes.begin(), text_bytes.end()));
  log << "corpus " << recipe.corpus << ": " << corpus.size() << " tokens (tokenized in "
      << clock.seconds() << " s); model " << config.num_hidden_layers << " layers x "
      << config.hidden_size << ", vocab " << config.vocab_size << std::endl;
  if (static_cast<int64_t>(corpus.size()) <= recipe.seq_len + 1)
    fail(recipe.corpus, ": too short");

  torch::optim::AdamW optimizer(params, torch::optim::AdamWOptions(recipe.learning_rate)
                                            .betas({0.9, 0.95})
                                            .weight_decay(recipe.weight_decay));
  std::mt19937_64 rng(recipe.seed);
  std::uniform_real_distribution<double> unit(0, 1);
  std::uniform_int_distribution<int64_t> episode_len(recipe.min_episode_tokens,
                                                     recipe.max_episode_tokens);
  std::uniform_int_distribution<size_t> offset(
      0, corpus.size() - static_cast<size_t>(recipe.seq_len) - 2);
  const int32_t bos = tokenizer.bos_id();

  double text_loss = 0, retrieval_loss = 0;
  int64_t text_n = 0, retrieval_n = 0, tokens = 0;
  Stopwatch run;
  for (int64_t step = 1; step <= recipe.steps; ++step) {
    const double warm =
        std::min(1.0, static_cast<double>(step) /
                          static_cast<double>(std::max<int64_t>(1, recipe.warmup_steps)));
    const double progress = static_cast<double>(step) / static_cast<double>(recipe.steps);
    const double lr =
        recipe.learning_rate * warm * (0.1 + 0.9 * 0.5 * (1 + std::cos(M_PI * progress)));
    for (auto& group : optimizer.param_groups()) {
      static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
    }
    optimizer.zero_grad();
    for (int64_t b = 0; b < recipe.batch_size; ++b) {
      std::vector<int32_t> seq;
      std::vector<float> scored;  // weight of each prediction (seq[i + 1] from seq[..i])
      const bool retrieval = unit(rng) < recipe.retrieval_fraction;
      auto append = [&](const std::string& text, float weight) {
        std::vector<int32_t> ids = tokenizer.encode(text);
        seq.insert(seq.end(), ids.begin(), ids.end());
        scored.resize(seq.size() - 1, weight);
      };
      if (retrieval) {
        // One record, then several questions about random lines of it, each answered: only
        // the answers are scored, and more questions per record give more signal per token.
        RetrievalEpisode e = make_retrieval_episode(tokenizer, episode_len(rng), rng);
        if (bos >= 0)
          seq.push_back(bos);
        append(e.context, 0);
        std::vector<std::pair<std::string, std::string>> lines;  // key, number
        for (size_t at = e.context.find("line "); at != std::string::npos;
             at = e.context.find("line ", at + 1)) {
          size_t colon = e.context.find(':', at), open = e.context.find('<', at),
                 close = e.context.find('>', at);
          if (colon == std::string::npos || close == std::string::npos)
            break;
          lines.emplace_back(e.context.substr(at + 5, colon - at - 5),
                             e.context.substr(open + 1, close - open - 1));
        }
        std::uniform_int_distribution<size_t> pick(0, lines.size() - 1);
        for (int64_t q = 0; q < recipe.questions_per_episode; ++q) {
          const auto& [key, number] = lines[pick(rng)];
          append("What is the REGISTER_CONTENT in line " + key + "? The REGISTER_CONTENT is <", 0);
          append(number + retrieval_answer_end() + "\n", 1);
        }
      } else {
        size_t at = offset(rng);
        seq.assign(corpus.begin() + static_cast<long>(at),
                   corpus.begin() + static_cast<long>(at) + recipe.seq_len + 1);
        scored.assign(seq.size() - 1, 1);
      }
      const auto n = static_cast<int64_t>(seq.size()) - 1;
      std::vector<int64_t> in(seq.begin(), seq.end() - 1), target(seq.begin() + 1, seq.end());
      std::vector<at::Tensor> ks(m.layers.size()), vs(m.layers.size());
      at::Tensor hidden = m.forward(at::tensor(in, at::kLong), ks, vs);
      at::Tensor logp = at::log_softmax(at::linear(hidden, m.lm_head), -1);
      at::Tensor nll = -logp.gather(1, at::tensor(target, at::kLong).unsqueeze(1)).squeeze(1);
      at::Tensor weight = at::tensor(scored, at::kFloat);
      at::Tensor loss = (nll * weight).sum() / weight.sum();
      (loss / static_cast<double>(recipe.batch_size)).backward();
      (retrieval ? retrieval_loss : text_loss) += loss.item<double>();
      (retrieval ? retrieval_n : text_n) += 1;
      tokens += n;
    }
    torch::nn::utils::clip_grad_norm_(params, 1.0);
    optimizer.step();
    const bool out_of_time = recipe.max_minutes > 0 && run.seconds() > recipe.max_minutes * 60;
    if (step % recipe.log_every == 0 || step == recipe.steps || out_of_time) {
      log << "step " << step << " lr " << lr << " text_loss "
          << (text_n ? text_loss / static_cast<double>(text_n) : NAN) << " retrieval_answer_loss "
          << (retrieval_n ? retrieval_loss / static_cast<double>(retrieval_n) : NAN) << " tokens/s "
          << static_cast<double>(tokens) / run.seconds() << " elapsed_s " << run.seconds()
          << std::endl;
      text_loss = retrieval_loss = 0;
      text_n = retrieval_n = 0;
    }
    if (step % recipe.save_every == 0 || step == recipe.steps || out_of_time) {
      // Save into a fresh directory, then swap it in: a killed run keeps the last checkpoint.
      std::string staging = recipe.output + ".saving";
      std::filesystem::create_directories(staging);
      {
        c10::InferenceMode guard;
        model->save(staging);
      }
      std::filesystem::copy_file(recipe.tokenizer, staging + "/tokenizer.json",
                                 std::filesystem::copy_options::overwrite_existing);
      std::filesystem::create_directories(recipe.output);
      for (const char* f : {"config.json", "model.safetensors", "tokenizer.json"}) {
        std::filesystem::rename(staging + "/" + f, recipe.output + "/" + f);
      }
      std::filesystem::remove_all(staging);
      log << "saved " << recipe.output << " at step " << step << std::endl;
    }
    if (out_of_time)
      break;
  }
}

}  // namespace cachegen
