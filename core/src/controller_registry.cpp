// The controllers a config can name. A new controller: one file in src/controllers/ and one
// line here.
#include "cachegen/core/controllers.h"

namespace cachegen {

ControllerRegistry& controller_registry() {
  static ControllerRegistry registry = [] {
    ControllerRegistry r("controller");
    r.add("fixed", "one level for every chunk (level=NAME)", make_fixed_controller);
    r.add("quant", "the 8-bit quantization baseline (the store's quant bits=8 level)",
          make_quant_controller);
    r.add("text", "recompute the whole context from its text", make_text_controller);
    r.add("cachegen",
          "CacheGen's: best level that fits the SLO budget at the measured throughput, or text "
          "when recompute is faster (prior_mbps, window)",
          make_cachegen_controller);
    r.add("oracle", "knows the future bandwidth; plans the best plan (an upper bound)",
          make_oracle_controller);
    return r;
  }();
  return registry;
}

}  // namespace cachegen
