#include "cachegen/models/trainer.h"

#include <torch/cuda.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adamw.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <random>

#include "cachegen/core/byte_io.h"
#include "cachegen/core/error.h"
#include "cachegen/core/parallel.h"
#include "cachegen/core/timer.h"
#include "cachegen/models/line_retrieval.h"
#include "cachegen/models/tokenizer.h"
#include "llama_impl.h"
#include "training_data.h"

namespace cachegen {

namespace {
// Padded positions per forward pass of the trainer: bounds activation memory and padding.
constexpr int64_t kMicroBatchTokens = 8192;
}  // namespace

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
        c.num_key_value_heads != config.num_key_value_heads || c.vocab_size != config.vocab_size ||
        c.tie_word_embeddings != config.tie_word_embeddings || c.model_type != config.model_type) {
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
  TrainingData data(recipe, tokenizer, corpus, static_cast<int32_t>(config.eos_token_id));
  const char* const loss_names[kSequenceKinds] = {"text_loss", "retrieval_answer_loss", "copy_loss",
                                                  "longeval_answer_loss"};
  double loss_sum[kSequenceKinds] = {};
  int64_t loss_n[kSequenceKinds] = {};
  int64_t tokens = 0, answer_hits = 0, answer_tokens = 0, first_token_hits = 0, first_tokens = 0;
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
    // Curriculum: the longest record grows linearly from curriculum_start_tokens to
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
    std::vector<TrainingSequence> batch;
    for (int64_t b = 0; b < recipe.batch_size; ++b)
      batch.push_back(data.next(longest));
    // Shortest first, in micro-batches of at most kMicroBatchTokens padded positions, so that
    // a 2K-token record does not pad a batch of 100-token ones (gradients accumulate).
    std::vector<size_t> order(batch.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return batch[a].tokens.size() < batch[b].tokens.size();
    });
    std::vector<double> sequence_loss(batch.size(), 0);
    for (size_t first = 0; first < order.size();) {
      size_t last = first + 1;  // micro-batch order[first, last)
      while (last < order.size() &&
             static_cast<int64_t>((last + 1 - first) * (batch[order[last]].tokens.size() - 1)) <=
                 kMicroBatchTokens) {
        ++last;
      }
      const auto width = static_cast<int64_t>(batch[order[last - 1]].tokens.size()) - 1;
      const auto count = static_cast<int64_t>(last - first);
      // Inputs [count, width], padded at the end (causal attention keeps padding out of real
      // positions). Only scored positions go through the LM head: a retrieval record scores
      // its answers alone, and the head is a fifth of the model's FLOPs. Each sequence weighs
      // the same in the loss, whatever its number of scored tokens.
      std::vector<int64_t> inputs(static_cast<size_t>(count * width), 0);
      std::vector<int64_t> rows, row_targets;
      std::vector<size_t> row_sequence;
      std::vector<float> row_weights;
      std::vector<char> row_first;  // the row predicts an answer's first token
      for (int64_t j = 0; j < count; ++j) {
        const size_t b = order[first + static_cast<size_t>(j)];
        const TrainingSequence& s = batch[b];
        const auto n = static_cast<int64_t>(s.tokens.size()) - 1;
        std::copy(s.tokens.begin(), s.tokens.end() - 1, inputs.begin() + j * width);
        double total = 0;
        for (float w : s.scored)
          total += w;
        auto next_first = s.first_answer_token.begin();  // ascending, like i
        for (int64_t i = 0; i < n; ++i) {
          const float w = s.scored[static_cast<size_t>(i)];
          if (w <= 0)
            continue;
          rows.push_back(j * width + i);
          row_targets.push_back(s.tokens[static_cast<size_t>(i) + 1]);
          row_sequence.push_back(b);
          row_weights.push_back(static_cast<float>(w / total / static_cast<double>(batch.size())));
          const bool is_first = next_first != s.first_answer_token.end() && *next_first == i;
          next_first += is_first;
          row_first.push_back(is_first);
        }
        tokens += n;
      }
      at::Tensor hidden =
          m.forward_batch(at::tensor(inputs, at::kLong).view({count, width}).to(device));
      at::Tensor picked = hidden.reshape({-1, config.hidden_size})
                              .index_select(0, at::tensor(rows, at::kLong).to(device));
      at::Tensor logp = at::log_softmax(at::linear(picked, m.lm_head), -1);  // [rows, vocab]
      at::Tensor target_ids = at::tensor(row_targets, at::kLong).to(device);
      at::Tensor nll = -logp.gather(1, target_ids.unsqueeze(1)).squeeze(1);  // [rows]
      (nll * at::tensor(row_weights, at::kFloat).to(device)).sum().backward();

      // Per-kind mean losses and, for retrieval, teacher-forced answer tokens predicted
      // exactly (greedy): progress that the mean loss hides, since '>' and newlines are easy.
      at::Tensor nll_cpu = nll.detach().to(at::kCPU).contiguous();
      at::Tensor hits_cpu = logp.detach().argmax(1).eq(target_ids).to(at::kCPU).contiguous();
      const float* row_nll = nll_cpu.data_ptr<float>();
      const bool* row_hit = hits_cpu.data_ptr<bool>();
      for (size_t r = 0; r < rows.size(); ++r) {
        sequence_loss[row_sequence[r]] +=
            row_nll[r] * row_weights[r] * static_cast<double>(batch.size());
        const SequenceKind kind = batch[row_sequence[r]].kind;
        if (kind == SequenceKind::kRetrieval || kind == SequenceKind::kLongEval) {
          answer_hits += row_hit[r];
          answer_tokens += 1;
          first_token_hits += row_first[r] && row_hit[r];
          first_tokens += row_first[r];
        }
      }
      first = last;
    }
    torch::nn::utils::clip_grad_norm_(params, 1.0);
    optimizer.step();
    for (size_t b = 0; b < batch.size(); ++b) {
      loss_sum[static_cast<int>(batch[b].kind)] += sequence_loss[b];
      loss_n[static_cast<int>(batch[b].kind)] += 1;
    }
    const bool out_of_time = recipe.max_minutes > 0 && run.seconds() > recipe.max_minutes * 60;
    if (step % recipe.log_every == 0 || step == recipe.steps || out_of_time) {
      auto ratio = [](double num, int64_t den) {
        return den ? num / static_cast<double>(den) : NAN;
      };
      log << "step " << step << " lr " << lr;
      for (int k = 0; k < kSequenceKinds; ++k)
        log << " " << loss_names[k] << " " << ratio(loss_sum[k], loss_n[k]);
      log << " answer_token_accuracy " << ratio(static_cast<double>(answer_hits), answer_tokens)
          << " first_answer_token_accuracy "
          << ratio(static_cast<double>(first_token_hits), first_tokens) << " tokens/s "
          << static_cast<double>(tokens) / run.seconds() << " elapsed_s " << run.seconds()
          << std::endl;
      std::fill(std::begin(loss_sum), std::end(loss_sum), 0.0);
      std::fill(std::begin(loss_n), std::end(loss_n), 0);
      answer_hits = answer_tokens = first_token_hits = first_tokens = 0;
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
