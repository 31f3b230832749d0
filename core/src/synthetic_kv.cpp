#include "cachegen/core/synthetic_kv.h"

#include <cmath>
#include <random>
#include <vector>

#include "cachegen/core/error.h"

namespace cachegen {

KVCache make_synthetic_kv(const SyntheticKVSpec& spec) {
  const KVShape& s = spec.shape;
  if (s.layers <= 0 || s.tokens < 0 || s.kv_heads <= 0 || s.head_dim <= 0) {
    fail("synthetic KV: shape ", s.to_string(), " needs positive layers, heads and dims");
  }
  if (!(spec.token_correlation >= 0 && spec.token_correlation < 1)) {
    fail("synthetic KV: token_correlation must be in [0, 1)");
  }
  KVCache kv(s, spec.dtype);
  const int64_t channels = s.channels();
  const double rho = spec.token_correlation;
  const double innovation = std::sqrt(1 - rho * rho);  // keeps z_t at unit variance
  std::vector<float> row(static_cast<size_t>(channels));
  std::vector<double> mean(static_cast<size_t>(channels)), scale(static_cast<size_t>(channels)),
      z(static_cast<size_t>(channels));
  for (int64_t layer = 0; layer < s.layers; ++layer) {
    for (int kind = 0; kind < 2; ++kind) {
      // Generators per plane: planes can be generated in any order with the same result.
      const auto plane = static_cast<uint64_t>(layer * 2 + kind);
      std::mt19937_64 model_rng(spec.model_seed * 1000003u + plane);
      std::mt19937_64 rng(spec.seed * 1000033u + plane + 0x9e3779b97f4a7c15u);
      std::normal_distribution<double> normal(0.0, 1.0);
      std::uniform_real_distribution<double> uniform(0.0, 1.0);
      double depth_gain = 1.0 + static_cast<double>(layer) / static_cast<double>(s.layers);
      for (int64_t c = 0; c < channels; ++c) {
        auto i = static_cast<size_t>(c);
        scale[i] = depth_gain * std::exp(0.5 * normal(model_rng)) * (kind == kKey ? 1.0 : 0.5);
        mean[i] = 0.2 * scale[i] * normal(model_rng);
        if (kind == kKey && uniform(model_rng) < spec.outlier_fraction) {
          mean[i] += 8.0 * depth_gain;
        }
        z[i] = normal(rng);
      }
      for (int64_t t = 0; t < s.tokens; ++t) {
        for (int64_t c = 0; c < channels; ++c) {
          auto i = static_cast<size_t>(c);
          if (t > 0)
            z[i] = rho * z[i] + innovation * normal(rng);
          row[i] = static_cast<float>(mean[i] + scale[i] * z[i]);
        }
        kv.store_row(layer, kind, t, row.data());
      }
    }
  }
  return kv;
}

}  // namespace cachegen
