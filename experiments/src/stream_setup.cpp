#include "cachegen/experiments/stream_setup.h"

#include "cachegen/codec/registry.h"
#include "cachegen/core/error.h"
#include "cachegen/core/synthetic_kv.h"

namespace cachegen {

LevelSpec parse_level_spec(const std::string& text) {
  const size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0) {
    fail("level '", text, "': expected NAME=CODEC[:KEY=VALUE;...], e.g. cg2=cachegen:level=2");
  }
  LevelSpec spec;
  spec.name = text.substr(0, eq);
  const std::string rest = text.substr(eq + 1);
  const size_t colon = rest.find(':');
  spec.codec = rest.substr(0, colon);
  spec.options = colon == std::string::npos ? "" : rest.substr(colon + 1);
  if (spec.codec.empty())
    fail("level '", text, "': no codec after '='");
  return spec;
}

std::string format_level_spec(const LevelSpec& spec) {
  return spec.name + "=" + spec.codec + (spec.options.empty() ? "" : ":" + spec.options);
}

std::vector<LevelSpec> default_levels() {
  return {{"quant8", "quant", "bits=8"},
          {"cg3", "cachegen", "level=3"},
          {"cg2", "cachegen", "level=2"},
          {"cg1", "cachegen", "level=1"}};
}

std::vector<StoreLevel> make_store_levels(const std::vector<LevelSpec>& specs, int threads) {
  std::vector<StoreLevel> levels;
  CodecContext context;
  context.threads = threads;
  for (const LevelSpec& spec : specs) {
    const std::string where = "level '" + spec.name + "'";
    try {
      levels.push_back(
          {spec.name, make_codec(spec.codec, Options::parse(spec.options, where), context)});
    } catch (const Error& e) {
      fail(where, ": ", e.what());
    }
  }
  return levels;
}

StreamContext synthetic_context(const KVShape& shape, uint64_t seed, int64_t question_tokens) {
  SyntheticKVSpec spec;
  spec.shape = shape;
  spec.seed = seed;
  StreamContext context;
  context.kv = make_synthetic_kv(spec);
  context.question_tokens = question_tokens;
  return context;
}

}  // namespace cachegen
