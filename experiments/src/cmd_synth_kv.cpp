// synth-kv: writes a KV cache from the documented synthetic generator (core/synthetic_kv.h).
#include <cstdio>

#include "cachegen/core/error.h"
#include "cachegen/core/kv_io.h"
#include "cachegen/core/synthetic_kv.h"
#include "cachegen/experiments/cli_args.h"
#include "cachegen/experiments/commands.h"

namespace cachegen {

int run_synth_kv(int argc, char** argv) {
  CliArgs args("synth-kv", argc, argv,
               {"layers", "tokens", "kv-heads", "head-dim", "dtype", "seed", "model-seed", "out"},
               {});
  args.expect_positionals(0, 0,
                          "[--layers 32] [--tokens 1536] [--kv-heads 8] [--head-dim 128] "
                          "[--dtype f16] [--seed 1] [--model-seed 1] --out KV.safetensors");
  SyntheticKVSpec spec;
  spec.shape = KVShape{args.get_int("layers", 32), args.get_int("tokens", 1536),
                       args.get_int("kv-heads", 8), args.get_int("head-dim", 128)};
  spec.dtype = parse_dtype(args.get("dtype", "f16"));
  spec.seed = static_cast<uint64_t>(args.get_int("seed", 1));
  spec.model_seed = static_cast<uint64_t>(args.get_int("model-seed", 1));
  std::string out = args.get("out", "");
  if (out.empty())
    fail("cachegen synth-kv: --out KV.safetensors is required");
  save_kv(out, make_synthetic_kv(spec), "synthetic");
  std::printf("%s: synthetic KV %s %s, seed %llu, model seed %llu\n", out.c_str(),
              spec.shape.to_string().c_str(), dtype_name(spec.dtype).c_str(),
              static_cast<unsigned long long>(spec.seed),
              static_cast<unsigned long long>(spec.model_seed));
  return 0;
}

}  // namespace cachegen
