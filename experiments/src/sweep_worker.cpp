#include "sweep_worker.h"

#include <cstdio>

#include "cachegen/core/error.h"
#include "cachegen/core/streamer.h"
#include "cachegen/experiments/datasets.h"
#include "cachegen/experiments/metrics.h"
#include "cachegen/netsim/registry.h"
#if CACHEGEN_HAVE_TORCH
#include "cachegen/experiments/model_context.h"
#include "cachegen/models/line_retrieval.h"
#endif

namespace cachegen {

namespace {
constexpr size_t kCacheBytes = size_t{4} << 30;  // contexts and stores kept for later points

std::string number(double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.9g", value);
  return buffer;
}

template <typename T>
std::shared_ptr<T> find(std::list<std::pair<std::string, std::shared_ptr<T>>>& cache,
                        const std::string& key) {
  for (auto it = cache.begin(); it != cache.end(); ++it) {
    if (it->first == key) {
      cache.splice(cache.begin(), cache, it);  // most recent first
      return cache.front().second;
    }
  }
  return nullptr;
}

template <typename T, typename Size>
void keep(std::list<std::pair<std::string, std::shared_ptr<T>>>& cache, const std::string& key,
          std::shared_ptr<T> value, Size size_of) {
  cache.emplace_front(key, std::move(value));
  size_t total = 0;
  for (auto it = cache.begin(); it != cache.end(); ++it) {
    total += size_of(*it->second);
    if (total > kCacheBytes && it != cache.begin()) {
      cache.erase(it, cache.end());
      break;
    }
  }
}

size_t store_bytes(const ChunkStore& store) {
  size_t total = store.reference().byte_size();
  for (const StoredChunk& c : store.chunks()) {
    for (const auto& bits : c.bitstreams)
      total += bits.size();
  }
  return total;
}
}  // namespace

#if CACHEGEN_HAVE_TORCH
struct SweepWorker::Models {
  struct Loaded {
    std::unique_ptr<LlamaModel> model;
    std::unique_ptr<Tokenizer> tokenizer;
    std::map<std::string, std::unique_ptr<Dataset>> datasets;  // "name|path"
  };
  std::map<std::string, Loaded> by_dir;

  Loaded& get(const std::string& dir, int threads) {
    auto it = by_dir.find(dir);
    if (it != by_dir.end())
      return it->second;
    Loaded loaded;
    loaded.model = LlamaModel::load(dir, ModelLoadOptions{"cpu", "", threads});
    loaded.tokenizer = std::make_unique<Tokenizer>(Tokenizer::load(dir + "/tokenizer.json"));
    return by_dir.emplace(dir, std::move(loaded)).first->second;
  }
  Dataset& dataset(Loaded& loaded, const RunPoint& p) {
    const std::string key = p.dataset + "|" + p.dataset_path;
    auto it = loaded.datasets.find(key);
    if (it == loaded.datasets.end())
      it = loaded.datasets.emplace(key, make_dataset(p.dataset, p.dataset_path, *loaded.tokenizer))
               .first;
    return *it->second;
  }
};

namespace {
std::string model_dir(const RunPoint& p) {
  return p.model == "builtin" ? std::string(CACHEGEN_SOURCE_DIR) + "/models/builtin" : p.model;
}
}  // namespace
#else
struct SweepWorker::Models {};
#endif

SweepWorker::SweepWorker(const RunConfig& config)
    : config_(config), models_(std::make_unique<Models>()) {}
SweepWorker::~SweepWorker() = default;

const ProfiledModel* SweepWorker::profile(const std::string& path) {
  if (path.empty())
    return nullptr;
  auto& slot = profiles_[path];
  if (!slot)
    slot = std::make_unique<ProfiledModel>(load_hardware_profile(path));
  return slot.get();
}

SweepWorker::Prepared SweepWorker::prepare(const RunPoint& p, uint64_t seed,
                                           const ProfiledModel* profiled) {
  const std::string context_key =
      p.model + "|" + p.dataset + "|" + p.dataset_path + "|" + std::to_string(p.context_tokens) +
      "|" + std::to_string(p.chunk_tokens) + "|" + std::to_string(seed) + "|" + p.hardware;
  Prepared out;
  out.context = find(contexts_, context_key);
  if (!out.context) {
    if (p.model == "synthetic") {
      KVShape shape = profiled->kv_shape;
      shape.tokens = p.context_tokens;
      out.context = std::make_shared<Context>();
      out.context->stream = synthetic_context(shape, seed, p.question_tokens);
    } else {
#if CACHEGEN_HAVE_TORCH
      auto& loaded = models_->get(model_dir(p), p.threads);
      out.context = std::make_shared<Context>();
      const DatasetRequest& request = out.context->request =
          models_->dataset(loaded, p).request(seed, p.context_tokens, p.eval_tokens);
      StreamContext& stream = out.context->stream =
          model_context(*loaded.model, *loaded.tokenizer, request.context, p.chunk_tokens);
      // Text datasets have no question: the first token after the context is prefilled.
      stream.question =
          request.question.empty()
              ? std::vector<int32_t>(request.continuation.begin(), request.continuation.begin() + 1)
              : request.question;
      stream.question_tokens = static_cast<int64_t>(request.question.size());
#else
      fail("model '", p.model, "' needs a build with models (CACHEGEN_WITH_TORCH=ON)");
#endif
    }
    keep(contexts_, context_key, out.context,
         [](const Context& c) { return c.stream.kv.byte_size(); });
  }
  std::string store_key = context_key;
  for (const LevelSpec& level : config_.levels_for(p))
    store_key += "|" + format_level_spec(level);
  out.store = find(stores_, store_key);
  if (!out.store) {
    out.store = std::make_shared<ChunkStore>(ChunkStore::build(
        out.context->stream.kv, make_store_levels(config_.levels_for(p), p.threads), p.chunk_tokens,
        out.context->stream.text));
    keep(stores_, store_key, out.store, store_bytes);
  }
  return out;
}

std::map<std::string, std::string> SweepWorker::run(const RunPoint& p, int64_t request) {
  const uint64_t seed = p.seed + static_cast<uint64_t>(request);
  const ProfiledModel* profiled = profile(p.hardware);
  Prepared prepared = prepare(p, seed, profiled);
  const ChunkStore& store = *prepared.store;

  Options net_options(config_.net_options, "network");
  net_options.set("rtt_ms", number(p.rtt_ms));
  if (p.trace.empty())
    net_options.set("bandwidth_gbps", number(p.bandwidth_gbps));
  else
    net_options.set("trace", p.trace);
  std::unique_ptr<NetworkModel> network = make_network(p.network, net_options);
  std::unique_ptr<Controller> controller =
      make_controller(p.controller_name(), Options::parse(p.controller_options(), "controller"));

  LanguageModel* model = nullptr;
#if CACHEGEN_HAVE_TORCH
  Models::Loaded* loaded =
      p.model == "synthetic" ? nullptr : &models_->get(model_dir(p), p.threads);
  if (loaded)
    model = loaded->model.get();
#endif
  // Synthetic contexts have no model to score: their quality is the KV error, which the store
  // computes from per-chunk errors, so the KV need not be assembled.
  const bool materialize = p.model != "synthetic";
  ChunkCompute compute(p.timing, profiled ? &profiled->profile : nullptr, model, materialize);
  StreamRequest stream_request;
  stream_request.question = prepared.context->stream.question;
  stream_request.question_tokens = prepared.context->stream.question_tokens;
  stream_request.slo_s = p.slo_s;
  stream_request.overlap = p.overlap;
  StreamOutcome out = stream_context(store, *controller, *network, compute, stream_request);

  // Which levels were used: one name, or "mixed".
  std::string level_used, codec_used, chunk_levels;
  for (const ChunkOutcome& c : out.chunks) {
    const std::string name =
        c.level == kTextLevel ? "text" : store.levels()[static_cast<size_t>(c.level)].name;
    const std::string codec =
        c.level == kTextLevel ? "text" : store.levels()[static_cast<size_t>(c.level)].codec->name();
    chunk_levels += (chunk_levels.empty() ? "" : " ") + name;
    level_used = level_used.empty() || level_used == name ? name : "mixed";
    codec_used = codec_used.empty() || codec_used == codec ? codec : "mixed";
  }
  std::map<std::string, std::string> row;
  row["point"] = std::to_string(p.index);
  row["request"] = std::to_string(request);
  row["seed"] = std::to_string(seed);
  row["revision"] = CACHEGEN_REVISION;
  row["model"] = p.model;
  row["dataset"] = p.model == "synthetic" ? "synthetic" : p.dataset;
  row["context_tokens"] = std::to_string(store.context_tokens());
  row["chunk_tokens"] = std::to_string(p.chunk_tokens);
  row["controller"] = p.level.empty() ? p.controller : "fixed:level=" + p.level;
  row["codec"] = codec_used;
  row["level"] = level_used;
  row["network"] = p.network;
  row["bandwidth_gbps"] = p.trace.empty() ? number(p.bandwidth_gbps) : "";
  row["trace"] = p.trace;
  row["rtt_ms"] = number(p.rtt_ms);
  row["slo_s"] = number(p.slo_s);
  row["timing"] = compute_timing_name(p.timing);
  row["overlap"] = p.overlap ? "1" : "0";
  row["ttft_s"] = number(out.ttft_s);
  row["transfer_s"] = number(out.transfer_s);
  row["decode_s"] = number(out.decode_s);
  row["recompute_s"] = number(out.recompute_s);
  row["prefill_s"] = number(out.prefill_s);
  row["waiting_s"] = number(out.waiting_s);
  row["kv_bytes"] = std::to_string(out.bytes);
  row["bits_per_element"] = number(8.0 * static_cast<double>(out.bytes) /
                                   static_cast<double>(store.reference().shape().elements()));
  row["slo_met"] = out.slo_met ? "1" : "0";
  std::vector<int> levels;
  for (const ChunkOutcome& c : out.chunks)
    levels.push_back(c.level);
  row["kv_relative_error"] = number(materialize ? kv_relative_error(out.kv, store.reference())
                                                : store.relative_error(levels));
  row["chunk_levels"] = chunk_levels;

#if CACHEGEN_HAVE_TORCH
  if (loaded) {
    const DatasetRequest& request_text = prepared.context->request;
    const KVCache& reference = store.reference();
    std::vector<int32_t> scored;  // tokens whose next-token distributions are compared
    if (request_text.metric == QualityMetric::kPerplexity) {
      scored = request_text.continuation;
      PrefillResult lossy = loaded->model->prefill(scored, &out.kv, true);
      std::vector<int32_t> targets(scored.begin() + 1, scored.end());
      lossy.logits.resize(targets.size() * static_cast<size_t>(loaded->model->vocab_size()));
      row["perplexity"] = number(perplexity(lossy.logits, targets, loaded->model->vocab_size()));
    } else {
      const bool retrieval = p.dataset == "line_retrieval";
      std::string reply = loaded->tokenizer->decode(loaded->model->generate(
          request_text.question, &out.kv, static_cast<int>(p.max_new_tokens), -1));
      reply = reply.substr(0, reply.find(retrieval ? retrieval_answer_end() : "\n"));
      if (request_text.metric == QualityMetric::kF1) {
        row["f1"] = number(best_f1(reply, request_text.answers));
      } else {
        bool correct = false;
        for (const std::string& answer : request_text.answers) {
          correct |= request_text.metric == QualityMetric::kAccuracy
                         ? reply == answer
                         : reply.find(answer) != std::string::npos;
        }
        row["accuracy"] = correct ? "1" : "0";
      }
      scored = request_text.question;
      std::vector<int32_t> answer = loaded->tokenizer->encode(request_text.answers.front());
      scored.insert(scored.end(), answer.begin(), answer.end());
    }
    PrefillResult a = loaded->model->prefill(scored, &reference, true);
    PrefillResult b = loaded->model->prefill(scored, &out.kv, true);
    LogitAgreement agreement = compare_logits(a.logits, b.logits, loaded->model->vocab_size());
    row["kl"] = number(agreement.kl);
    row["top1"] = number(agreement.top1);
  }
#endif
  return row;
}

}  // namespace cachegen
