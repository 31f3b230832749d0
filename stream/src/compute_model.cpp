#include "cachegen/stream/compute_model.h"

#include <cmath>

#include "cachegen/core/error.h"

namespace cachegen {

double HardwareProfile::prefill_seconds(int64_t tokens, int64_t past) const {
  const auto n = static_cast<double>(tokens);
  const double context = static_cast<double>(past) + n / 2;
  return prefill_fixed_s + n * (prefill_per_token_s + context * prefill_per_token_context_s);
}

double HardwareProfile::decode_seconds(uint64_t output_bytes) const {
  return decode_fixed_s + static_cast<double>(output_bytes) / decode_bytes_per_s;
}

void HardwareProfile::validate() const {
  for (double v :
       {prefill_fixed_s, prefill_per_token_s, prefill_per_token_context_s, decode_fixed_s}) {
    if (!(v >= 0) || !std::isfinite(v))
      fail("hardware profile '", name, "': times must be finite and >= 0");
  }
  if (!(decode_bytes_per_s > 0) || !std::isfinite(decode_bytes_per_s))
    fail("hardware profile '", name, "': decode rate must be positive");
}

ComputeTiming parse_compute_timing(const std::string& text) {
  if (text == "measured")
    return ComputeTiming::kMeasured;
  if (text == "profile")
    return ComputeTiming::kProfile;
  fail("unknown compute timing '", text, "'; valid: measured, profile");
}

const char* compute_timing_name(ComputeTiming timing) {
  return timing == ComputeTiming::kMeasured ? "measured" : "profile";
}

}  // namespace cachegen
