// stream: loads one context through the streaming engine (chunk store, controller, network,
// GPU work) and prints its TTFT breakdown, per-chunk choices and quality.
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cachegen/core/dataset.h"
#include "cachegen/core/error.h"
#include "cachegen/core/network.h"
#include "cachegen/experiments/cli_args.h"
#include "cachegen/experiments/commands.h"
#include "cachegen/experiments/hardware_profile_io.h"
#include "cachegen/experiments/model_context.h"
#include "cachegen/experiments/stream_setup.h"
#include "cachegen/stream/streamer.h"
#include "gpu_kv_memory.h"

namespace cachegen {

namespace {
const char kUsage[] =
    "[--model SPEC | --synthetic] [--dataset SPEC] [--hardware PROFILE.yaml] "
    "[--timing measured|profile] "
    "[--context-tokens 2048] [--chunk-tokens 1536] [--encoding NAME=CODEC[:K=V;...] ...] "
    "[--controller NAME[:K=V;...]] [--network fluid] [--net KEY=VALUE ...] [--slo-s 1] "
    "[--no-overlap] [--seed 1] [--question-tokens 32] [--threads N] [--json]";

const char* choice_name(const ChunkStore& store, int choice) {
  return choice == kTextChoice ? "text"
                               : store.encodings()[static_cast<size_t>(choice)].name.c_str();
}
}  // namespace

int run_stream(int argc, char** argv) {
  CliArgs args(
      "stream", argc, argv,
      {"model", "dataset", "hardware", "timing", "context-tokens", "chunk-tokens", "encoding",
       "controller", "network", "net", "slo-s", "seed", "question-tokens", "threads"},
      {"synthetic", "no-overlap", "json"});
  args.expect_positionals(0, 0, kUsage);
  const int64_t context_tokens = args.get_int("context-tokens", 2048);
  const int64_t chunk_tokens = args.get_int("chunk-tokens", 1536);
  const auto seed = static_cast<uint64_t>(args.get_int("seed", 1));
  const int threads = static_cast<int>(args.get_int("threads", 0));
  const double slo_s = std::stod(args.get("slo-s", "1"));

  std::unique_ptr<ProfiledModel> profiled;
  if (args.has("hardware"))
    profiled = std::make_unique<ProfiledModel>(load_hardware_profile(args.get("hardware", "")));
  const ComputeTiming timing =
      parse_compute_timing(args.get("timing", profiled ? "profile" : "measured"));

  // The context: synthetic KV of the profile's model shape, or the model's KV of a dataset
  // request (a line-retrieval record by default).
  StreamContext context;
  std::unique_ptr<LanguageModel> model;
  DatasetRequest request_text;
  if (args.has("synthetic")) {
    if (!profiled)
      fail("cachegen stream: --synthetic needs --hardware (the model shape comes from it)");
    KVShape shape = profiled->kv_shape;
    shape.tokens = context_tokens;
    context = synthetic_context(shape, seed, args.get_int("question-tokens", 32));
  } else {
    model = load_model(parse_model_spec(args.get("model", "builtin")), threads);
    const auto [dataset_name, dataset_options] =
        split_plugin_spec(args.get("dataset", "line_retrieval"));
    std::unique_ptr<Dataset> dataset = dataset_registry().create(
        dataset_name, Options::parse(dataset_options, "dataset"), *model->tokenizer());
    request_text = dataset->request(seed, context_tokens, 1);
    if (request_text.question.empty())
      fail("cachegen stream: dataset '", dataset_name, "' has no questions; use a QA dataset");
    context = model_context(*model, *model->tokenizer(), request_text.context, chunk_tokens);
    context.question = request_text.question;
    context.question_tokens = static_cast<int64_t>(context.question.size());
    context.answer = request_text.answers.front();
  }

  std::vector<EncodingSpec> specs;
  for (const std::string& text : args.get_all("encoding"))
    specs.push_back(parse_encoding_spec(text));
  if (specs.empty())
    specs = default_encodings();
  ChunkStore store = ChunkStore::build(context.kv, make_store_encodings(specs, threads),
                                       chunk_tokens, context.text);

  std::unique_ptr<NetworkModel> network =
      make_network(args.get("network", "fluid"), assignments(args, "net", "network"));
  const std::string controller_name = args.get("controller", "cachegen");
  std::unique_ptr<Controller> controller = make_controller(controller_name);
  ResidentPipeline resident;
  if (model && timing == ComputeTiming::kMeasured)
    resident = resident_pipeline_for(*model);
  ChunkCompute compute(timing, profiled ? &profiled->profile : nullptr, model.get(), true,
                       resident.compute.get());
  StreamRequest request;
  request.question = context.question;
  request.question_tokens = context.question_tokens;
  request.slo_s = slo_s;
  request.overlap = !args.has("no-overlap");
  StreamOutcome out = stream_context(store, *controller, *network, compute, request);

  const double kv_error = kv_relative_error(out.kv, store.reference());
  std::string reply;
  if (model)
    reply = answer_on_kv(*model, *model->tokenizer(), out.kv, request_text, 8);
  if (args.has("json")) {
    nlohmann::ordered_json j;
    j["controller"] = controller_name;
    j["timing"] = compute_timing_name(timing);
    j["context_tokens"] = store.context_tokens();
    j["ttft_s"] = out.ttft_s;
    j["transfer_s"] = out.transfer_s;
    j["decode_s"] = out.decode_s;
    j["recompute_s"] = out.recompute_s;
    j["prefill_s"] = out.prefill_s;
    j["waiting_s"] = out.waiting_s;
    j["bytes"] = out.bytes;
    j["slo_s"] = slo_s;
    j["slo_met"] = out.slo_met;
    j["kv_relative_error"] = kv_error;
    if (!context.answer.empty()) {
      j["answer"] = context.answer;
      j["reply"] = reply;
      j["correct"] = reply == context.answer;
    }
    j["chunks"] = nlohmann::ordered_json::array();
    for (const ChunkOutcome& c : out.chunks) {
      j["chunks"].push_back({{"encoding", choice_name(store, c.choice)},
                             {"store_chunks", c.chunks},
                             {"bytes", c.bytes},
                             {"start_s", c.start_s},
                             {"arrival_s", c.arrival_s},
                             {"compute_start_s", c.compute_start_s},
                             {"compute_s", c.compute_s}});
    }
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("%-6s %-8s %12s %10s %10s %10s %10s\n", "chunk", "encoding", "bytes", "start_s",
              "arrival_s", "gpu_from_s", "gpu_s");
  for (size_t i = 0; i < out.chunks.size(); ++i) {
    const ChunkOutcome& c = out.chunks[i];
    const std::string label = c.chunks > 1 ? "all" : std::to_string(i);
    std::printf("%-6s %-8s %12llu %10.4f %10.4f %10.4f %10.4f\n", label.c_str(),
                choice_name(store, c.choice), static_cast<unsigned long long>(c.bytes), c.start_s,
                c.arrival_s, c.compute_start_s, c.compute_s);
  }
  std::printf(
      "TTFT %.4f s (transfer %.4f, decode %.4f, recompute %.4f, question prefill %.4f, GPU "
      "waiting %.4f); SLO %.3f s %s; %llu bytes; KV relative error %.4f\n",
      out.ttft_s, out.transfer_s, out.decode_s, out.recompute_s, out.prefill_s, out.waiting_s,
      slo_s, out.slo_met ? "met" : "missed", static_cast<unsigned long long>(out.bytes), kv_error);
  if (!context.answer.empty()) {
    std::printf("answer '%s', reply '%s': %s\n", context.answer.c_str(), reply.c_str(),
                reply == context.answer ? "correct" : "wrong");
  }
  return 0;
}

}  // namespace cachegen
