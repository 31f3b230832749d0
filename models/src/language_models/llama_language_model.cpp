// llama: a Hugging Face Llama-family checkpoint directory (config.json, model.safetensors or
// shards, tokenizer.json) run by the libtorch decoder (llama_model.h), with its tokenizer; the
// named checkpoints; and random-weight models of a config.json's shape (timing at paper scale
// without the weights).
#include <filesystem>

#include "cachegen/core/error.h"
#include "cachegen/models/llama_model.h"
#include "cachegen/models/named_checkpoints.h"
#include "cachegen/models/tokenizer.h"

namespace cachegen {

namespace {
class CheckpointModel : public LanguageModel {
 public:
  CheckpointModel(std::unique_ptr<LlamaModel> llama, Tokenizer tokenizer)
      : llama_(std::move(llama)), tokenizer_(std::move(tokenizer)) {}

  std::string name() const override { return llama_->name(); }
  int64_t vocab_size() const override { return llama_->vocab_size(); }
  KVShape kv_shape(int64_t tokens) const override { return llama_->kv_shape(tokens); }
  std::string device() const override { return llama_->device(); }
  int32_t prefill_resident(const std::vector<int32_t>& tokens, const std::vector<ResidentKV>& past,
                           const ResidentKV* out) override {
    return llama_->prefill_resident(tokens, past, out);
  }
  PrefillResult prefill(const std::vector<int32_t>& tokens, const KVCache* past, bool all_logits,
                        int64_t first_position = -1) override {
    return llama_->prefill(tokens, past, all_logits, first_position);
  }
  std::vector<int32_t> generate(const std::vector<int32_t>& prompt, const KVCache* past,
                                int max_new_tokens, int32_t eos,
                                int64_t first_position = -1) override {
    return llama_->generate(prompt, past, max_new_tokens, eos, first_position);
  }
  std::vector<double> log_probs(const std::vector<int32_t>& tokens, const KVCache* past,
                                int64_t first_position = -1) override {
    return llama_->log_probs(tokens, past, first_position);
  }
  std::vector<float> attention_received(const std::vector<int32_t>& tokens) override {
    return llama_->attention_received(tokens);
  }
  const TextTokenizer* tokenizer() const override { return &tokenizer_; }

 private:
  std::unique_ptr<LlamaModel> llama_;
  Tokenizer tokenizer_;
};

void check_checkpoint(const Options& options) {
  const std::string path = options.text("path");
  std::error_code error;
  if (path.empty() || !std::filesystem::is_regular_file(path + "/config.json", error))
    fail(options.context(), ": path '", path, "' is not a checkpoint directory with config.json");
}

const OptionSpec kDevice = choice_option("device", "cpu", {"cpu", "cuda"}, "where it runs");
const OptionSpec kDtype =
    choice_option("dtype", "checkpoint", {"checkpoint", "f32", "bf16", "f16"},
                  "weights and activations; checkpoint: the checkpoint's torch_dtype");
const OptionSpec kAttention =
    choice_option("attention", "auto", {"auto", "blocked", "fused"},
                  "blocked: the exact reference; fused: scaled_dot_product_attention "
                  "(FlashAttention on CUDA); auto: fused on cuda, blocked on cpu");

ModelLoadOptions load_options(const Options& options, int threads) {
  const std::string dtype = options.text("dtype");
  ModelLoadOptions out{options.text("device"), dtype == "checkpoint" ? "" : dtype, threads};
  out.attention = options.text("attention");
  return out;
}

std::unique_ptr<LanguageModel> load(const std::string& directory, const Options& options,
                                    int threads) {
  return std::make_unique<CheckpointModel>(
      LlamaModel::load(directory, load_options(options, threads)),
      Tokenizer::load(directory + "/tokenizer.json"));
}

// random: weights drawn by LlamaModel::random for a config.json's shape, with a tokenizer.json
// from elsewhere (its ids must fit the config's vocabulary).
std::unique_ptr<LanguageModel> load_random(const Options& options, int threads) {
  const std::string config_path = options.text("config");
  ModelConfig config = ModelConfig::load(config_path);
  Tokenizer tokenizer = Tokenizer::load(options.text("tokenizer"));
  return std::make_unique<CheckpointModel>(
      LlamaModel::random(config, static_cast<uint64_t>(options.integer("seed")),
                         load_options(options, threads)),
      std::move(tokenizer));
}

void check_random(const Options& options) {
  for (const char* key : {"config", "tokenizer"}) {
    if (options.text(key).empty())
      fail(options.context(), ": ", key, " is required");
  }
}

// The named checkpoints (named_checkpoints.h): the same loader on a fixed directory.
PluginInfo named_info(const std::string& name) {
  for (const NamedCheckpoint& c : named_checkpoints()) {
    if (c.name == name) {
      return {name,
              c.description + "; on libtorch",
              {kDevice, kDtype, kAttention},
              [name](const Options&) { checkpoint_directory(name); }};
    }
  }
  fail("no named checkpoint '", name, "'");
}

std::unique_ptr<LanguageModel> load_named(const std::string& name, const Options& options,
                                          int threads) {
  return load(checkpoint_directory(name), options, threads);
}
}  // namespace

CACHEGEN_REGISTER(language_model_registry(),
                  {"llama",
                   "a Hugging Face Llama-family checkpoint (Llama 2/3, Mistral, Qwen2) on libtorch",
                   {text_option("path", "", "the checkpoint directory (required)"), kDevice, kDtype,
                    kAttention},
                   check_checkpoint,
                   "path=models/builtin"},
                  [](const Options& options, int threads) {
                    return load(options.text("path"), options, threads);
                  });
CACHEGEN_REGISTER(language_model_registry(),
                  {"random",
                   "random weights (normal, std 0.02) of a config.json's shape, on libtorch: "
                   "timings of a model whose weights are not here (answers are noise)",
                   {file_option("config", "the config.json giving the shape (required)"),
                    file_option("tokenizer", "a tokenizer.json (required)"),
                    integer_option("seed", 0, 0, 1 << 30, "the weights' seed"), kDevice, kDtype,
                    kAttention},
                   check_random,
                   "config=models/builtin/config.json;tokenizer=models/builtin/tokenizer.json"},
                  load_random);
CACHEGEN_REGISTER(language_model_registry(), named_info("builtin"),
                  [](const Options& options, int threads) {
                    return load_named("builtin", options, threads);
                  });
CACHEGEN_REGISTER(language_model_registry(), named_info("smollm2-135m"),
                  [](const Options& options, int threads) {
                    return load_named("smollm2-135m", options, threads);
                  });

}  // namespace cachegen
