// kv, generate and perplexity: the models on the command line.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>

#include "cachegen/codec/kvtc_calibration.h"
#include "cachegen/core/byte_io.h"
#include "cachegen/core/dataset.h"
#include "cachegen/core/error.h"
#include "cachegen/core/kv_io.h"
#include "cachegen/core/timer.h"
#include "cachegen/experiments/cli_args.h"
#include "cachegen/experiments/commands.h"
#include "cachegen/experiments/metrics.h"
#include "cachegen/experiments/model_context.h"
#include "cachegen/models/line_retrieval.h"
#include "cachegen/models/llama_model.h"
#include "cachegen/models/named_checkpoints.h"
#include "cachegen/models/tokenizer.h"
#include "cachegen/models/trainer.h"

namespace cachegen {

namespace {
std::string text_file(const std::string& path) {
  std::vector<uint8_t> bytes = read_file(path);
  return std::string(bytes.begin(), bytes.end());
}

struct LoadedModel {
  std::unique_ptr<LlamaModel> model;
  Tokenizer tokenizer;

  std::vector<int32_t> tokens(const std::string& text) const {
    std::vector<int32_t> ids;
    if (tokenizer.bos_id() >= 0)
      ids.push_back(tokenizer.bos_id());
    std::vector<int32_t> body = tokenizer.encode(text);
    ids.insert(ids.end(), body.begin(), body.end());
    return ids;
  }
};

LoadedModel load(const CliArgs& args) {
  // A named checkpoint (named_checkpoints.h: builtin, smollm2-135m) or a checkpoint directory.
  const std::string dir = checkpoint_directory(args.get("model", "builtin"));
  if (!std::ifstream(dir + "/config.json").good())
    fail("--model '", dir, "' is neither a named checkpoint nor a directory with config.json");
  ModelLoadOptions options;
  options.device = args.get("device", "cpu");
  options.dtype = args.get("dtype", "");
  options.threads = static_cast<int>(args.get_int("threads", 0));
  return {LlamaModel::load(dir, options), Tokenizer::load(dir + "/tokenizer.json")};
}

const std::set<std::string> kModelFlags = {"model", "device", "dtype", "threads"};

std::set<std::string> with_model_flags(std::set<std::string> flags) {
  flags.insert(kModelFlags.begin(), kModelFlags.end());
  return flags;
}
}  // namespace

int run_kv(int argc, char** argv) {
  CliArgs args("kv", argc, argv, with_model_flags({"text", "out", "max-tokens"}), {});
  args.expect_positionals(0, 0,
                          "[--model NAME|DIR] --text FILE [--max-tokens N] --out KV.safetensors");
  if (!args.has("text") || !args.has("out"))
    fail("cachegen kv: --text FILE and --out FILE are required");
  const int64_t max_tokens = args.get_int("max-tokens", 0);  // 0: the whole text
  if (max_tokens < 0)
    fail("cachegen kv: --max-tokens must be >= 0 (0: the whole text)");
  LoadedModel m = load(args);
  std::vector<int32_t> ids = m.tokens(text_file(args.get("text", "")));
  if (max_tokens > 0 && static_cast<int64_t>(ids.size()) > max_tokens)
    ids.resize(static_cast<size_t>(max_tokens));
  Stopwatch timer;
  PrefillResult result = m.model->prefill(ids, nullptr, false);
  double seconds = timer.seconds();
  save_kv(args.get("out", ""), result.kv, m.model->name());
  std::printf("%s: %zu tokens, KV %s %s, prefill %.3f s\n", args.get("out", "").c_str(), ids.size(),
              result.kv.shape().to_string().c_str(), dtype_name(result.kv.dtype()).c_str(),
              seconds);
  return 0;
}

#if CACHEGEN_WITH_KVTC
int run_calibrate(int argc, char** argv) {
  CliArgs args("calibrate", argc, argv,
               with_model_flags({"text", "out", "window-tokens", "layers-per-basis", "transform",
                                 "rope", "sinks", "max-windows"}),
               {});
  args.expect_positionals(
      0, 0,
      "[--model NAME|DIR] --text FILE [--text FILE ...] --out FILE.kvtc "
      "[--window-tokens 2048] [--layers-per-basis 1] [--transform pca|identity] "
      "[--rope on|off] [--sinks 4] [--max-windows N]");
  const std::vector<std::string> texts = args.get_all("text");
  const std::string out = args.get("out", "");
  if (texts.empty() || out.empty())
    fail("cachegen calibrate: --text FILE (one or more) and --out FILE are required");
  const std::string rope = args.get("rope", "on");
  if (rope != "on" && rope != "off")
    fail("cachegen calibrate: --rope must be on or off, not '", rope, "'");
  LoadedModel m = load(args);
  KvtcCalibrationSettings settings;
  settings.layers_per_basis = args.get_int("layers-per-basis", 1);
  settings.transform = args.get("transform", "pca");
  settings.undo_rope = rope == "on";
  settings.sinks = args.get_int("sinks", 4);
  const int64_t window = args.get_int("window-tokens", 2048);
  const int64_t max_windows = args.get_int("max-windows", 1 << 30);
  if (window < 8)
    fail("cachegen calibrate: --window-tokens must be at least 8");
  KvtcCalibrator calibrator(m.model->kv_shape(0), key_rotation(m.model->config()), settings,
                            static_cast<int>(args.get_int("threads", 0)));
  // Each text is cut into windows of `window` tokens (BOS first), each prefilled on its own
  // from position 0, as a context would be.
  int64_t windows = 0, tokens = 0;
  Stopwatch timer;
  for (const std::string& path : texts) {
    const std::vector<int32_t> body = m.tokenizer.encode(text_file(path));
    for (size_t start = 0; start < body.size() && windows < max_windows;
         start += static_cast<size_t>(window)) {
      std::vector<int32_t> ids;
      if (m.tokenizer.bos_id() >= 0)
        ids.push_back(m.tokenizer.bos_id());
      const size_t end = std::min(body.size(), start + static_cast<size_t>(window) - ids.size());
      ids.insert(ids.end(), body.begin() + static_cast<long>(start),
                 body.begin() + static_cast<long>(end));
      if (ids.size() < 8)
        break;
      calibrator.add(m.model->prefill(ids, nullptr, false).kv, 0);
      ++windows;
      tokens += static_cast<int64_t>(ids.size());
    }
  }
  const KvtcCalibration calibration = calibrator.finish();
  write_file_atomic(out, calibration.serialize());
  std::printf("%s: kvtc calibration %s [%s], %lld windows, %lld tokens, %.1f s\n", out.c_str(),
              calibration.id.c_str(), calibration.params().c_str(), static_cast<long long>(windows),
              static_cast<long long>(tokens), timer.seconds());
  return 0;
}
#endif

int run_generate(int argc, char** argv) {
  CliArgs args("generate", argc, argv, with_model_flags({"prompt-file", "max-new-tokens"}), {});
  args.expect_positionals(0, 0, "[--model NAME|DIR] --prompt-file FILE [--max-new-tokens N]");
  if (!args.has("prompt-file"))
    fail("cachegen generate: --prompt-file FILE is required");
  LoadedModel m = load(args);
  std::vector<int32_t> ids = m.tokens(text_file(args.get("prompt-file", "")));
  const auto eos = static_cast<int32_t>(m.model->config().eos_token_id);
  std::vector<int32_t> out =
      m.model->generate(ids, nullptr, static_cast<int>(args.get_int("max-new-tokens", 32)), eos);
  std::printf("%s\n", m.tokenizer.decode(out).c_str());
  return 0;
}

int run_perplexity(int argc, char** argv) {
  CliArgs args("perplexity", argc, argv, with_model_flags({"text", "window"}), {"json"});
  args.expect_positionals(0, 0, "[--model NAME|DIR] --text FILE [--window N] [--json]");
  if (!args.has("text"))
    fail("cachegen perplexity: --text FILE is required");
  LoadedModel m = load(args);
  std::vector<int32_t> ids = m.tokens(text_file(args.get("text", "")));
  // Non-overlapping windows of at most the model's context; each scores its tokens 1..n-1.
  const int64_t window = args.get_int("window", m.model->config().max_position_embeddings);
  if (window < 2)
    fail("cachegen perplexity: --window must be at least 2");
  double sum = 0;
  int64_t count = 0;
  for (size_t start = 0; start + 1 < ids.size(); start += static_cast<size_t>(window)) {
    size_t end = std::min(ids.size(), start + static_cast<size_t>(window));
    std::vector<double> lp =
        m.model->log_probs(std::vector<int32_t>(ids.begin() + static_cast<long>(start),
                                                ids.begin() + static_cast<long>(end)),
                           nullptr);
    for (double v : lp)
      sum += v;
    count += static_cast<int64_t>(lp.size());
  }
  if (count == 0)
    fail("cachegen perplexity: the text has fewer than 2 tokens");
  const double perplexity = std::exp(-sum / static_cast<double>(count));
  if (args.has("json")) {
    nlohmann::ordered_json out{
        {"perplexity", perplexity}, {"tokens", count}, {"model", m.model->name()}};
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    std::printf("perplexity %.4f over %lld tokens\n", perplexity, static_cast<long long>(count));
  }
  return 0;
}

int run_train(int argc, char** argv) {
  CliArgs args("train", argc, argv, {}, {});
  args.expect_positionals(1, 1, "RECIPE.yaml");
  train_model(TrainRecipe::load(args.positionals()[0]), std::cout);
  return 0;
}

namespace {
// LongEval "lines" cases (the `longchat` dataset's JSONL): greedy replies on the uncompressed KV,
// scored by LongEval's rule (the reply's last number). Episode i takes record i mod count.
RetrievalScore score_longeval(LanguageModel& model, const Tokenizer& tokenizer,
                              const std::string& path, int64_t context_tokens, int64_t episodes,
                              int max_new_tokens) {
  std::unique_ptr<Dataset> dataset =
      dataset_registry().create("longchat", Options::parse("path=" + path, "dataset"), tokenizer);
  RetrievalScore score;
  for (int64_t i = 0; i < episodes; ++i) {
    const DatasetRequest request = dataset->request(static_cast<uint64_t>(i), context_tokens, 0);
    const KVCache kv = model.prefill(request.context, nullptr, false).kv;
    const std::string reply = answer_on_kv(model, tokenizer, kv, request, max_new_tokens, -1);
    score.correct += answer_is_correct(reply, request.answers, request.metric) ? 1 : 0;
    ++score.episodes;
    score.replies.push_back(reply);
    score.answers.push_back(request.answers.front());
  }
  return score;
}
}  // namespace

int run_retrieval_eval(int argc, char** argv) {
  CliArgs args(
      "retrieval-eval", argc, argv,
      with_model_flags({"context-tokens", "episodes", "seed", "longeval", "max-new-tokens"}),
      {"json", "show"});
  args.expect_positionals(
      0, 0,
      "[--model NAME|DIR] [--longeval FILE.jsonl] [--context-tokens 1024] [--episodes 100] "
      "[--seed 1000] [--max-new-tokens 16] [--json] [--show]");
  LoadedModel m = load(args);
  const int64_t context = args.get_int("context-tokens", 1024);
  const int64_t episodes = args.get_int("episodes", 100);
  // Two formats: the official LongEval prompts of a file (scripts/make-longeval.sh), or the
  // built-in model's own record template (line_retrieval.h), generated from --seed.
  const std::string longeval = args.get("longeval", "");
  const std::string format = longeval.empty()
                                 ? "built-in line-retrieval template, exact match"
                                 : "LongEval lines " + longeval + ", LongEval's last-number rule";
  RetrievalScore score = longeval.empty()
                             ? score_retrieval(*m.model, m.tokenizer, context, episodes,
                                               static_cast<uint64_t>(args.get_int("seed", 1000)))
                             : score_longeval(*m.model, m.tokenizer, longeval, context, episodes,
                                              static_cast<int>(args.get_int("max-new-tokens", 16)));
  if (args.has("show")) {  // each episode's reply, to see how a model fails
    for (size_t i = 0; i < score.replies.size(); ++i)
      std::printf("episode %zu: reply '%s', answer '%s'\n", i, score.replies[i].c_str(),
                  score.answers[i].c_str());
  }
  const auto [low, high] =
      wilson_interval(static_cast<double>(score.correct), static_cast<double>(score.episodes));
  if (args.has("json")) {
    nlohmann::ordered_json out{{"format", format},
                               {"accuracy", score.accuracy()},
                               {"accuracy_ci95", {low, high}},
                               {"episodes", score.episodes},
                               {"context_tokens", context},
                               {"model", m.model->name()}};
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    std::printf("%s\nat %lld tokens: %lld / %lld correct (%.1f%%, 95%% interval %.1f-%.1f%%)\n",
                format.c_str(), static_cast<long long>(context),
                static_cast<long long>(score.correct), static_cast<long long>(score.episodes),
                100 * score.accuracy(), 100 * low, 100 * high);
  }
  return 0;
}

int run_retrieval_text(int argc, char** argv) {
  CliArgs args("retrieval-text", argc, argv, {"records", "lines", "seed"}, {});
  args.expect_positionals(0, 0, "[--records 200] [--lines 100] [--seed 1]");
  std::mt19937_64 rng(static_cast<uint64_t>(args.get_int("seed", 1)));
  const int64_t records = args.get_int("records", 200);
  for (int64_t r = 0; r < records; ++r) {
    RetrievalEpisode e = make_retrieval_episode_with_lines(args.get_int("lines", 100), rng);
    std::printf("%s%s%s%s\n", e.context.c_str(), e.question.c_str(), e.answer.c_str(),
                retrieval_answer_end());
  }
  return 0;
}

}  // namespace cachegen
