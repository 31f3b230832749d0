// How long the GPU work of context loading takes: decoding a chunk's bitstream, recomputing a
// chunk from its text (prefill on top of the KV of the chunks before it), and prefilling the
// question. Either measured (the real codec and model run on this machine and are timed) or
// taken from a hardware profile, for projections to paper-scale models and GPUs.
#pragma once

#include <cstdint>
#include <string>

namespace cachegen {

// A GPU and model pair, as a cost model. Prefill of `tokens` new tokens on top of `past` tokens
// takes  fixed_s + tokens * (per_token_s + (past + tokens / 2) * per_token_context_s)
// (weights: linear in tokens; attention: each new token reads the context before it). Decode of
// a chunk takes  decode_fixed_s + output_bytes / decode_bytes_per_s  (output: fp16 KV).
struct HardwareProfile {
  std::string name;    // e.g. "mistral-7b-a40"
  std::string source;  // where the numbers come from (file or citation)
  double prefill_fixed_s = 0;
  double prefill_per_token_s = 0;
  double prefill_per_token_context_s = 0;
  double decode_fixed_s = 0;
  double decode_bytes_per_s = 0;

  double prefill_seconds(int64_t tokens, int64_t past) const;
  double decode_seconds(uint64_t output_bytes) const;
  // Throws naming the profile if a value is negative or the decode rate is not positive.
  void validate() const;
};

enum class ComputeTiming { kMeasured, kProfile };

// "measured" / "profile"; anything else fails listing both.
ComputeTiming parse_compute_timing(const std::string& text);
const char* compute_timing_name(ComputeTiming timing);

}  // namespace cachegen
