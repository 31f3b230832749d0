#include "cachegen/models/trainer.h"

#include <torch/cuda.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adamw.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <random>

#include "cachegen/core/byte_io.h"
#include "cachegen/core/error.h"
#include "cachegen/core/parallel.h"
#include "cachegen/core/timer.h"
#include "cachegen/core/yaml_config.h"
#include "cachegen/models/line_retrieval.h"
#include "cachegen/models/tokenizer.h"
#include "llama_impl.h"

namespace cachegen {

TrainRecipe TrainRecipe::load(const std::string& path) {
  YAML::Node root = load_yaml_file(path);
  TrainRecipe r;
  r.source = path;
  YamlMap top(root, "", path);
  r.output = top.require<std::string>("output");
  r.tokenizer = top.require<std::string>("tokenizer");
  r.corpus = top.require<std::string>("corpus");
  r.seed = top.get<uint64_t>("seed", 1);
  r.threads = top.get<int>("threads", 0);
  r.device = top.get_choice("device", "cpu", {"cpu", "cuda"});
  r.init = top.get<std::string>("init", "");
  YamlMap m(root["model"], "model", path);
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
  YamlMap d(root["data"], "data", path);
  r.retrieval_fraction = d.get<double>("retrieval_fraction", r.retrieval_fraction);
  r.min_episode_tokens = d.get<int64_t>("min_episode_tokens", r.min_episode_tokens);
  r.max_episode_tokens = d.get<int64_t>("max_episode_tokens", r.max_episode_tokens);
  r.questions_per_episode = d.get<int64_t>("questions_per_episode", r.questions_per_episode);
  r.curriculum_start_tokens = d.get<int64_t>("curriculum_start_tokens", r.max_episode_tokens);
  r.curriculum_steps = d.get<int64_t>("curriculum_steps", r.curriculum_steps);
  d.finish();
  YamlMap t(root["training"], "training", path);
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
      r.retrieval_fraction > 1 || r.learning_rate <= 0 || r.questions_per_episode < 1 ||
      r.curriculum_start_tokens < r.min_episode_tokens ||
      r.curriculum_start_tokens > r.max_episode_tokens || r.curriculum_steps < 0) {
    fail(path,
         ": training and data values are out of range (steps, batch_size >= 1; seq_len >= 2; "
         "32 <= min_episode_tokens <= curriculum_start_tokens <= max_episode_tokens; "
         "curriculum_steps >= 0; 0 <= retrieval_fraction <= 1)");
  }
  return r;
}

void train_model(const TrainRecipe& recipe, std::ostream& log) {
  Tokenizer tokenizer = Tokenizer::load(recipe.tokenizer);
  ModelConfig config = recipe.model;
  config.vocab_size = tokenizer.vocab_size();
  config.bos_token_id = tokenizer.bos_id();
  config.eos_token_id = tokenizer.token_id("<|end_of_text|>");
  if (recipe.device == "cuda" && !torch::cuda::is_available()) {
    fail(recipe.source,
         ": device: cuda, but libtorch sees no CUDA device (a CPU build of torch, "
         "or no GPU)");
  }
  const ModelLoadOptions load_options{recipe.device, "f32", recipe.threads};
  const at::Device device = recipe.device == "cuda" ? at::Device(at::kCUDA) : at::Device(at::kCPU);
  std::unique_ptr<LlamaModel> model;
  if (recipe.init.empty()) {
    model = LlamaModel::random(config, recipe.seed, load_options);
  } else {
    // Continue from an earlier stage's checkpoint: its architecture must be the recipe's.
    model = LlamaModel::load(recipe.init, load_options);
    const ModelConfig& c = model->config();
    if (c.hidden_size != config.hidden_size || c.intermediate_size != config.intermediate_size ||
        c.num_hidden_layers != config.num_hidden_layers ||
        c.num_attention_heads != config.num_attention_heads ||
        c.num_key_value_heads != config.num_key_value_heads || c.vocab_size != config.vocab_size) {
      fail(recipe.source, ": init checkpoint ", recipe.init,
           " has another architecture or vocabulary than the recipe's model");
    }
    log << "initialised from " << recipe.init << std::endl;
  }
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
    // Curriculum: the longest episode grows linearly from curriculum_start_tokens to
    // max_episode_tokens over curriculum_steps, so that retrieval is learnt on short records.
    const double ramp = recipe.curriculum_steps > 0
                            ? std::min(1.0, static_cast<double>(step - 1) /
                                                static_cast<double>(recipe.curriculum_steps))
                            : 1.0;
    const auto longest =
        std::max(recipe.min_episode_tokens,
                 static_cast<int64_t>(static_cast<double>(recipe.curriculum_start_tokens) +
                                      ramp * static_cast<double>(recipe.max_episode_tokens -
                                                                 recipe.curriculum_start_tokens)));
    std::uniform_int_distribution<int64_t> episode_len(recipe.min_episode_tokens, longest);
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
        // Distinct lines, so that no answer can be copied from an earlier answer.
        std::vector<RetrievalLine> asked = e.lines;
        std::shuffle(asked.begin(), asked.end(), rng);
        asked.resize(std::min(asked.size(), static_cast<size_t>(recipe.questions_per_episode)));
        for (const RetrievalLine& line : asked) {
          append(retrieval_question(line.key), 0);
          append(line.number + retrieval_answer_end() + "\n", 1);
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
      at::Tensor hidden = m.forward(at::tensor(in, at::kLong).to(device), ks, vs);
      at::Tensor logp = at::log_softmax(at::linear(hidden, m.lm_head), -1);
      at::Tensor nll =
          -logp.gather(1, at::tensor(target, at::kLong).to(device).unsqueeze(1)).squeeze(1);
      at::Tensor weight = at::tensor(scored, at::kFloat).to(device);
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
