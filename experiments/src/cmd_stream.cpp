// stream: loads one context through the streaming engine (chunk store, controller, network,
// GPU work) and prints its TTFT breakdown, per-chunk choices and quality.
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cachegen/core/error.h"
#include "cachegen/core/streamer.h"
#include "cachegen/experiments/cli_args.h"
#include "cachegen/experiments/commands.h"
#include "cachegen/experiments/hardware_profile_io.h"
#include "cachegen/experiments/stream_setup.h"
#include "cachegen/netsim/registry.h"
#if CACHEGEN_HAVE_TORCH
#include "cachegen/experiments/model_context.h"
#endif

namespace cachegen {

namespace {
const char kUsage[] =
    "[--model DIR | --synthetic] [--hardware PROFILE.yaml] [--timing measured|profile] "
    "[--context-tokens 2048] [--chunk-tokens 1536] [--level NAME=CODEC[:K=V;...] ...] "
    "[--controller cachegen] [--controller-opt K=V ...] [--network fluid] [--bandwidth-gbps X] "
    "[--rtt-ms Y] [--trace FILE] [--net-opt K=V ...] [--slo-s 1] [--no-overlap] [--seed 1] "
    "[--question-tokens 32] [--threads N] [--json]";

Options options_from(const CliArgs& args, const std::string& flag, const std::string& owner) {
  Options options({}, owner);
  for (const std::string& assignment : args.get_all(flag))
    options.add_assignment(assignment);
  return options;
}

const char* level_name(const ChunkStore& store, int level) {
  return level == kTextLevel ? "text" : store.levels()[static_cast<size_t>(level)].name.c_str();
}
}  // namespace

int run_stream(int argc, char** argv) {
  CliArgs args("stream", argc, argv,
               {"model", "hardware", "timing", "context-tokens", "chunk-tokens", "level",
                "controller", "controller-opt", "network", "bandwidth-gbps", "rtt-ms", "trace",
                "net-opt", "slo-s", "seed", "question-tokens", "threads"},
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

  // The context: synthetic KV of the profile's model shape, or the model's KV of a
  // line-retrieval episode.
  StreamContext context;
  LanguageModel* model = nullptr;
#if CACHEGEN_HAVE_TORCH
  std::unique_ptr<LlamaModel> llama;
  std::unique_ptr<Tokenizer> tokenizer;
#endif
  if (args.has("synthetic")) {
    if (!profiled)
      fail("cachegen stream: --synthetic needs --hardware (the model shape comes from it)");
    KVShape shape = profiled->kv_shape;
    shape.tokens = context_tokens;
    context = synthetic_context(shape, seed, args.get_int("question-tokens", 32));
  } else {
#if CACHEGEN_HAVE_TORCH
    const std::string dir = args.get("model", CACHEGEN_SOURCE_DIR "/models/builtin");
    llama = LlamaModel::load(dir, ModelLoadOptions{"cpu", "", threads});
    tokenizer = std::make_unique<Tokenizer>(Tokenizer::load(dir + "/tokenizer.json"));
    context = retrieval_context(*llama, *tokenizer, context_tokens, chunk_tokens, seed);
    model = llama.get();
#else
    fail("cachegen stream: this build has no models (CACHEGEN_WITH_TORCH=OFF); use --synthetic");
#endif
  }

  std::vector<LevelSpec> specs;
  for (const std::string& text : args.get_all("level"))
    specs.push_back(parse_level_spec(text));
  if (specs.empty())
    specs = default_levels();
  ChunkStore store =
      ChunkStore::build(context.kv, make_store_levels(specs, threads), chunk_tokens, context.text);

  std::unique_ptr<NetworkModel> network =
      make_network(args.get("network", "fluid"), network_options_from(args, "net-opt", "network"));
  const std::string controller_name = args.get("controller", "cachegen");
  std::unique_ptr<Controller> controller =
      make_controller(controller_name,
                      options_from(args, "controller-opt", "controller '" + controller_name + "'"));
  ChunkCompute compute(timing, profiled ? &profiled->profile : nullptr, model, true);
  StreamRequest request;
  request.question = context.question;
  request.question_tokens = context.question_tokens;
  request.slo_s = slo_s;
  request.overlap = !args.has("no-overlap");
  StreamOutcome out = stream_context(store, *controller, *network, compute, request);

  const double kv_error = kv_relative_error(out.kv, store.reference());
  std::string reply;
#if CACHEGEN_HAVE_TORCH
  if (llama)
    reply = answer_on_kv(*llama, *tokenizer, out.kv, context.question, 8);
#endif
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
      j["chunks"].push_back({{"level", level_name(store, c.level)},
                             {"bytes", c.bytes},
                             {"start_s", c.start_s},
                             {"arrival_s", c.arrival_s},
                             {"compute_start_s", c.compute_start_s},
                             {"compute_s", c.compute_s}});
    }
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("%-6s %-8s %12s %10s %10s %10s %10s\n", "chunk", "level", "bytes", "start_s",
              "arrival_s", "gpu_from_s", "gpu_s");
  for (size_t i = 0; i < out.chunks.size(); ++i) {
    const ChunkOutcome& c = out.chunks[i];
    std::printf("%-6zu %-8s %12llu %10.4f %10.4f %10.4f %10.4f\n", i, level_name(store, c.level),
                static_cast<unsigned long long>(c.bytes), c.start_s, c.arrival_s, c.compute_start_s,
                c.compute_s);
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
