// `cachegen`: the framework's command-line entry point. One subcommand per job; see --help.
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <string>
#include <vector>

#include "cachegen/core/cpu_level.h"
#include "cachegen/core/error.h"
#include "cachegen/core/options.h"
#include "cachegen/experiments/commands.h"

namespace {

struct Subcommand {
  const char* name;
  int (*run)(int, char**);
  const char* summary;
};

const Subcommand kSubcommands[] = {
    {"synth-kv", cachegen::run_synth_kv, "write a synthetic KV cache (documented generator)"},
    {"encode", cachegen::run_encode, "encode a KV cache with a codec into containers"},
    {"decode", cachegen::run_decode, "decode containers back to a KV cache"},
    {"inspect", cachegen::run_inspect, "print container headers (--json)"},
    {"profile", cachegen::run_profile, "build an offline probability profile for cachegen"},
    {"codec-report", cachegen::run_codec_report, "size, error and speed of every codec/level"},
    {"netsim", cachegen::run_netsim, "send chunks over a network model, print arrival times"},
    {"trace", cachegen::run_trace, "trace gen: write a bandwidth trace (CSV)"},
    {"run", cachegen::run_run,
     "run a sweep config: CONFIG.yaml [--out DIR] [--resume] [--shard I/N]"},
    {"merge", cachegen::run_merge, "join the results of sharded runs: --out DIR SHARD_DIR..."},
    {"list", cachegen::run_list,
     "every plug-in family, its names and their options [FAMILY] [--json]"},
    {"stream", cachegen::run_stream,
     "load one context through the streaming engine; print TTFT, choices and quality"},
#if CACHEGEN_HAVE_TORCH
    {"kv", cachegen::run_kv, "prefill a text with a model and write its KV cache"},
#if CACHEGEN_WITH_KVTC
    {"calibrate", cachegen::run_calibrate,
     "kvtc calibration: PCA of a model's KV on texts (--text FILE... --out FILE)"},
#endif
    {"generate", cachegen::run_generate, "greedy generation from a prompt file"},
    {"perplexity", cachegen::run_perplexity, "a model's perplexity on a text (--json)"},
    {"train", cachegen::run_train, "train a small decoder from a YAML recipe"},
    {"retrieval-eval", cachegen::run_retrieval_eval, "line-retrieval accuracy of a model"},
    {"retrieval-text", cachegen::run_retrieval_text,
     "print line-retrieval records (text for training a tokenizer)"},
#endif
};

void print_help() {
  std::printf("usage: cachegen <command> [args]\n\ncommands:\n");
  for (const Subcommand& s : kSubcommands)
    std::printf("  %-13s %s\n", s.name, s.summary);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    print_help();
    return argc < 2 ? 2 : 0;
  }
  for (const Subcommand& s : kSubcommands) {
    if (std::strcmp(argv[1], s.name) == 0) {
      try {
        cachegen::cpu_level_cap();  // a bad CACHEGEN_CPU_LEVEL fails here, before any work
        return s.run(argc - 2, argv + 2);
      } catch (const cachegen::Error& e) {
        std::fprintf(stderr, "cachegen %s: error: %s\n", s.name, e.what());
        return 1;
      } catch (const std::bad_alloc&) {
        std::fprintf(stderr, "cachegen %s: error: out of memory\n", s.name);
        return 1;
      } catch (const std::exception& e) {
        std::fprintf(stderr, "cachegen %s: internal error: %s\n", s.name, e.what());
        return 3;
      }
    }
  }
  std::vector<std::string> names;
  for (const Subcommand& s : kSubcommands)
    names.push_back(s.name);
  std::fprintf(stderr, "cachegen: %s\n\n",
               cachegen::unknown_name_message("command", argv[1], names).c_str());
  print_help();
  return 2;
}
