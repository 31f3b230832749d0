// How long the GPU work of context loading takes: decoding a chunk's bitstream, recomputing a
// chunk from its text (prefill on top of the KV of the chunks before it), and prefilling the
// question. Either measured (the real codec and model run on this machine and are timed) or
// taken from a hardware profile, for projections to paper-scale models and GPUs.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace cachegen {

class Codec;

// One codec's decode cost on the profile's GPU, as the CUDA codec's benchmark measured it
// (experiments/gpu_decode_rates.h reads its output file). A store encoding uses it when its codec
// has this name and these parameters.
struct CodecDecodeCost {
  std::string label;                          // the benchmark's spec, e.g. "cachegen:level=2"
  std::string codec;                          // codec name, e.g. "cachegen"
  std::map<std::string, std::string> params;  // every parameter (decode_cost_params())
  double device_bytes_per_s = 0;              // fp16 KV bytes/s of the device decode
  double upload_s_per_byte = 0;  // host-to-device copy of the bitstream, s per fp16 KV byte
  double parse_s_per_byte = 0;   // host parse, s per fp16 KV byte
};

// A codec's canonical parameters (Codec::params()) without those that name where its tables
// come from rather than what it decodes (an offline profile's path or id).
std::map<std::string, std::string> decode_cost_params(const std::string& params);

// A GPU and model pair, as a cost model. Prefill of `tokens` new tokens on top of `past` tokens
// takes  fixed_s + tokens * (per_token_s + (past + tokens / 2) * per_token_context_s)
// (weights: linear in tokens; attention: each new token reads the context before it). Decode of
// a chunk takes  decode_time_scale * (decode_fixed_s + output_bytes * per_byte)  (output: fp16
// KV), where per_byte = 1 / (device rate * decode_device_scale) + upload + parse from the codec's
// measured cost (codec_decode) when the profile has one, else 1 / decode_bytes_per_s. Host parse,
// upload and device decode are charged one after the other (no overlap): a conservative choice.
struct HardwareProfile {
  std::string name;    // e.g. "mistral-7b-a40"
  std::string source;  // where the numbers come from (file or citation)
  double prefill_fixed_s = 0;
  double prefill_per_token_s = 0;
  double prefill_per_token_context_s = 0;
  double prefill_efficiency = 0.5;  // share of the GPU's peak FLOP rate the per-token times assume
  double decode_fixed_s = 0;
  double decode_bytes_per_s = 0;              // codecs without a measured cost
  std::vector<CodecDecodeCost> codec_decode;  // measured per codec (may be empty)
  std::string decode_rates_source;            // the file codec_decode came from
  double decode_device_scale = 1;  // this GPU's device decode rate over the measuring GPU's
  double decode_time_scale = 1;    // sensitivity: every decode time multiplied by it

  double prefill_seconds(int64_t tokens, int64_t past) const;
  // Decode of a chunk by `codec` (null: the default rate).
  double decode_seconds(uint64_t output_bytes, const Codec* codec = nullptr) const;
  // The measured cost of `codec`, or null when the profile has none for it.
  const CodecDecodeCost* decode_cost(const Codec& codec) const;
  // The same profile with prefill at `efficiency` of peak (0: unchanged) and decode times
  // multiplied by `decode_scale`: the sensitivity band of the TTFT figures.
  HardwareProfile with_sensitivity(double efficiency, double decode_scale) const;
  // Throws naming the profile if a value is negative or the decode rate is not positive.
  void validate() const;
};

enum class ComputeTiming { kMeasured, kProfile };

// "measured" / "profile"; anything else fails listing both.
ComputeTiming parse_compute_timing(const std::string& text);
const char* compute_timing_name(ComputeTiming timing);

}  // namespace cachegen
