#include "sweep_worker.h"

#include <cstdio>

#include "cachegen/core/build_info.h"
#include "cachegen/core/error.h"
#include "cachegen/core/network.h"
#include "cachegen/experiments/metrics.h"
#include "cachegen/experiments/model_context.h"
#include "cachegen/stream/streamer.h"
#include "context_compression.h"

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

SweepWorker::SweepWorker(const RunConfig& config) : config_(config) {}
SweepWorker::~SweepWorker() = default;

SweepWorker::Loaded& SweepWorker::loaded(const std::string& model_spec, int threads) {
  Loaded& slot = models_[model_spec];
  if (!slot.model) {
    slot.model = load_model(parse_model_spec(model_spec), threads);
    slot.resident = resident_pipeline_for(*slot.model);
  }
  return slot;
}

Dataset& SweepWorker::dataset(Loaded& loaded, const std::string& spec) {
  std::unique_ptr<Dataset>& slot = loaded.datasets[spec];
  if (!slot) {
    const auto [name, options] = split_plugin_spec(spec);
    slot = dataset_registry().create(name, Options::parse(options, "dataset"),
                                     *loaded.model->tokenizer());
  }
  return *slot;
}

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
  const Options& r = p.run;
  const int64_t context_tokens = r.integer("context_tokens"),
                chunk_tokens = r.integer("chunk_tokens");
  const int threads = static_cast<int>(r.integer("threads"));
  const std::string context_key =
      str(r.text("model"), "|", r.text("dataset"), "|", context_tokens, "|", chunk_tokens, "|",
          seed, "|", r.text("hardware"), "|", r.text("compression"));
  Prepared out;
  out.context = find(contexts_, context_key);
  if (!out.context) {
    out.context = std::make_shared<Context>();
    const ModelSpec model_spec = parse_model_spec(r.text("model"));
    if (model_spec.synthetic()) {
      KVShape shape = profiled->kv_shape;
      shape.tokens = context_tokens;
      out.context->stream =
          synthetic_context(model_spec, shape, seed, r.integer("question_tokens"));
    } else {
      Loaded& model = loaded(r.text("model"), threads);
      const DatasetRequest& request = out.context->request =
          dataset(model, r.text("dataset")).request(seed, context_tokens, r.integer("eval_tokens"));
      LanguageModel& lm = *model.model;
      const CompressionSpec compression = parse_compression_spec(r.text("compression"));
      out.context->original_elements =
          lm.kv_shape(static_cast<int64_t>(request.context.size())).elements();
      if (compression.kind == CompressionSpec::Kind::kH2o) {
        StreamContext full = model_context(lm, *lm.tokenizer(), request.context, chunk_tokens);
        out.context->stream = h2o_compress(lm, request.context, full, chunk_tokens, compression);
        out.context->full_kv = std::move(full.kv);
        out.context->first_position = static_cast<int64_t>(request.context.size());
      } else if (compression.kind == CompressionSpec::Kind::kLlmlingua) {
        const std::vector<int32_t> kept = llmlingua_compress(lm, request.context, compression).kept;
        out.context->stream = model_context(lm, *lm.tokenizer(), kept, chunk_tokens);
        out.context->full_kv = lm.prefill(request.context, nullptr, false).kv;
      } else {
        out.context->stream = model_context(lm, *lm.tokenizer(), request.context, chunk_tokens);
      }
      StreamContext& stream = out.context->stream;
      // Text datasets have no question: the first token after the context is prefilled.
      stream.question =
          request.question.empty()
              ? std::vector<int32_t>(request.continuation.begin(), request.continuation.begin() + 1)
              : request.question;
      stream.question_tokens = static_cast<int64_t>(request.question.size());
    }
    keep(contexts_, context_key, out.context, [](const Context& c) {
      return c.stream.kv.byte_size() + c.full_kv.byte_size() +
             c.reference_logits.size() * sizeof(float);
    });
  }
  const std::vector<EncodingSpec> encodings = config_.encodings_for(p);
  std::string store_key = context_key;
  for (const EncodingSpec& encoding : encodings)
    store_key += "|" + format_encoding_spec(encoding);
  out.store = find(stores_, store_key);
  if (!out.store) {
    out.store = std::make_shared<ChunkStore>(
        ChunkStore::build(out.context->stream.kv, make_store_encodings(encodings, threads),
                          chunk_tokens, out.context->stream.text));
    keep(stores_, store_key, out.store, store_bytes);
  }
  return out;
}

std::map<std::string, std::string> SweepWorker::run(const RunPoint& p, int64_t request) {
  const Options& r = p.run;
  const uint64_t seed = static_cast<uint64_t>(r.integer("seed")) + static_cast<uint64_t>(request);
  const ProfiledModel* profiled = profile(r.text("hardware"));
  Prepared prepared = prepare(p, seed, profiled);
  const ChunkStore& store = *prepared.store;

  std::unique_ptr<NetworkModel> network =
      make_network(r.text("network"), Options(p.net, "network"));
  std::unique_ptr<Controller> controller = make_controller(p.controller_spec());

  const bool synthetic = parse_model_spec(r.text("model")).synthetic();
  Loaded* model_slot =
      synthetic ? nullptr : &loaded(r.text("model"), static_cast<int>(r.integer("threads")));
  LanguageModel* model = model_slot ? model_slot->model.get() : nullptr;
  // Synthetic contexts have no model to score: their quality is the KV error, which the store
  // computes from per-chunk errors, so the KV need not be assembled.
  const bool materialize = !synthetic;
  ResidentCompute* resident = model_slot && p.timing() == ComputeTiming::kMeasured
                                  ? model_slot->resident.compute.get()
                                  : nullptr;
  // The profile at this point's sensitivity settings (prefill efficiency, decode time scale).
  HardwareProfile priced;
  if (profiled)
    priced = profiled->profile.with_sensitivity(r.number("prefill_efficiency"),
                                                r.number("decode_time_scale"));
  ChunkCompute compute(p.timing(), profiled ? &priced : nullptr, model, materialize, resident);
  StreamRequest stream_request;
  stream_request.question = prepared.context->stream.question;
  stream_request.question_tokens = prepared.context->stream.question_tokens;
  stream_request.slo_s = r.number("slo_s");
  stream_request.overlap = r.flag("overlap");
  StreamOutcome out = stream_context(store, *controller, *network, compute, stream_request);

  // Which encodings were used: one name, or "mixed".
  std::string encoding_used, codec_used, chunk_encodings;
  std::vector<int> choices;
  for (const ChunkOutcome& c : out.chunks) {
    const bool text = c.choice == kTextChoice;
    const StoreEncoding* e = text ? nullptr : &store.encodings()[static_cast<size_t>(c.choice)];
    const std::string name = text ? "text" : e->name, codec = text ? "text" : e->codec->name();
    for (int64_t i = 0; i < c.chunks; ++i) {  // one name per store chunk
      chunk_encodings += (chunk_encodings.empty() ? "" : " ") + name;
      choices.push_back(c.choice);
    }
    encoding_used = encoding_used.empty() || encoding_used == name ? name : "mixed";
    codec_used = codec_used.empty() || codec_used == codec ? codec : "mixed";
  }
  std::map<std::string, std::string> row;
  for (const auto& [key, value] : p.settings())
    row[key] = value;
  row["point"] = std::to_string(p.index);
  row["request"] = std::to_string(request);
  row["seed"] = std::to_string(seed);
  row["revision"] = build_revision_label();
  row["kv_tokens"] = std::to_string(store.context_tokens());
  row["encoding_used"] = encoding_used;
  row["codec_used"] = codec_used;
  row["ttft_s"] = number(out.ttft_s);
  row["transfer_s"] = number(out.transfer_s);
  row["decode_s"] = number(out.decode_s);
  row["recompute_s"] = number(out.recompute_s);
  row["prefill_s"] = number(out.prefill_s);
  row["waiting_s"] = number(out.waiting_s);
  row["kv_bytes"] = std::to_string(out.bytes);
  // Per element of the whole context's KV (a compressed context's bytes count against it too).
  const int64_t elements = prepared.context->original_elements > 0
                               ? prepared.context->original_elements
                               : store.reference().shape().elements();
  row["bits_per_element"] =
      number(8.0 * static_cast<double>(out.bytes) / static_cast<double>(elements));
  row["slo_met"] = out.slo_met ? "1" : "0";
  row["kv_relative_error"] = number(materialize ? kv_relative_error(out.kv, store.reference())
                                                : store.relative_error(choices));
  row["chunk_encodings"] = chunk_encodings;

  if (model) {
    Context& context = *prepared.context;
    const DatasetRequest& request_text = context.request;
    const TextTokenizer& tokenizer = *model->tokenizer();
    const bool text = request_text.metric == QualityMetric::kPerplexity;
    // Tokens whose next-token distributions are compared: the continuation of a text, or the
    // question and the answer.
    std::vector<int32_t> scored = request_text.continuation;
    if (!text) {
      const std::string reply =
          answer_on_kv(*model, tokenizer, out.kv, request_text,
                       static_cast<int>(r.integer("max_new_tokens")), context.first_position);
      if (request_text.metric == QualityMetric::kF1) {
        row["f1"] = number(best_f1(reply, request_text.answers));
      } else {
        const bool correct = answer_is_correct(reply, request_text.answers, request_text.metric);
        row["accuracy"] = correct ? "1" : "0";
      }
      scored = request_text.question;
      std::vector<int32_t> answer = tokenizer.encode(request_text.answers.front());
      scored.insert(scored.end(), answer.begin(), answer.end());
    }
    std::vector<float> lossy_logits =
        std::move(model->prefill(scored, &out.kv, true, context.first_position).logits);
    if (context.reference_logits.empty()) {
      const KVCache& whole = context.full_kv.shape().tokens ? context.full_kv : store.reference();
      context.reference_logits = std::move(model->prefill(scored, &whole, true).logits);
    }
    LogitAgreement agreement =
        compare_logits(context.reference_logits, lossy_logits, model->vocab_size());
    if (text) {  // the last row predicts past the continuation: not scored
      std::vector<int32_t> targets(scored.begin() + 1, scored.end());
      lossy_logits.resize(targets.size() * static_cast<size_t>(model->vocab_size()));
      row["perplexity"] = number(perplexity(lossy_logits, targets, model->vocab_size()));
    }
    row["kl"] = number(agreement.kl);
    row["top1"] = number(agreement.top1);
  }
  return row;
}

}  // namespace cachegen
