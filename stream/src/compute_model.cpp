#include "cachegen/stream/compute_model.h"

#include <cmath>

#include "cachegen/core/codec.h"
#include "cachegen/core/error.h"
#include "cachegen/core/options.h"

namespace cachegen {

std::map<std::string, std::string> decode_cost_params(const std::string& params) {
  std::map<std::string, std::string> values = Options::parse(params, "codec parameters").values();
  values.erase("profile");
  values.erase("profile_id");
  return values;
}

double HardwareProfile::prefill_seconds(int64_t tokens, int64_t past) const {
  const auto n = static_cast<double>(tokens);
  const double context = static_cast<double>(past) + n / 2;
  return prefill_fixed_s + n * (prefill_per_token_s + context * prefill_per_token_context_s);
}

const CodecDecodeCost* HardwareProfile::decode_cost(const Codec& codec) const {
  if (codec_decode.empty())
    return nullptr;
  const std::string codec_name = codec.name();
  const std::map<std::string, std::string> params = decode_cost_params(codec.params());
  for (const CodecDecodeCost& cost : codec_decode) {
    if (cost.codec == codec_name && cost.params == params)
      return &cost;
  }
  return nullptr;
}

double HardwareProfile::decode_seconds(uint64_t output_bytes, const Codec* codec) const {
  const CodecDecodeCost* cost = codec ? decode_cost(*codec) : nullptr;
  const double per_byte = cost ? 1 / (cost->device_bytes_per_s * decode_device_scale) +
                                     cost->upload_s_per_byte + cost->parse_s_per_byte
                               : 1 / decode_bytes_per_s;
  return decode_time_scale * (decode_fixed_s + static_cast<double>(output_bytes) * per_byte);
}

HardwareProfile HardwareProfile::with_sensitivity(double efficiency, double decode_scale) const {
  HardwareProfile out = *this;
  if (efficiency > 0) {
    const double slower = prefill_efficiency / efficiency;
    out.prefill_per_token_s *= slower;
    out.prefill_per_token_context_s *= slower;
    out.prefill_efficiency = efficiency;
  }
  out.decode_time_scale *= decode_scale;
  out.validate();
  return out;
}

void HardwareProfile::validate() const {
  for (double v :
       {prefill_fixed_s, prefill_per_token_s, prefill_per_token_context_s, decode_fixed_s}) {
    if (!(v >= 0) || !std::isfinite(v))
      fail("hardware profile '", name, "': times must be finite and >= 0");
  }
  if (!(decode_bytes_per_s > 0) || !std::isfinite(decode_bytes_per_s))
    fail("hardware profile '", name, "': decode rate must be positive");
  if (!(prefill_efficiency > 0 && prefill_efficiency <= 1))
    fail("hardware profile '", name, "': prefill efficiency must be in (0, 1]");
  if (!(decode_time_scale > 0) || !std::isfinite(decode_time_scale) || !(decode_device_scale > 0) ||
      !std::isfinite(decode_device_scale))
    fail("hardware profile '", name, "': decode scales must be positive");
  for (const CodecDecodeCost& cost : codec_decode) {
    if (!(cost.device_bytes_per_s > 0) || !std::isfinite(cost.device_bytes_per_s) ||
        !(cost.upload_s_per_byte >= 0) || !std::isfinite(cost.upload_s_per_byte) ||
        !(cost.parse_s_per_byte >= 0) || !std::isfinite(cost.parse_s_per_byte))
      fail("hardware profile '", name, "': codec '", cost.label,
           "' needs a positive device decode rate and upload and parse times >= 0");
  }
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
