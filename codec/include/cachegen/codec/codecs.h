// Factories of the built-in codecs (registered in registry.cpp). Each reads its options, so that
// unknown keys can be rejected by the caller.
#pragma once

#include <memory>
#include <vector>

#include "cachegen/codec/profile.h"
#include "cachegen/codec/registry.h"

namespace cachegen {

// identity: raw values. Options: dtype = input | f16 | bf16 (storage type; input keeps it).
std::unique_ptr<Codec> make_identity_codec(Options& options, const CodecContext& context);
// quant: symmetric absmax quantization, packed. Options: bits (2-8, default 8); group (0 = one
// scale per token over all channels, the paper's baseline; 32 = llama.cpp-style blocks).
std::unique_ptr<Codec> make_quant_codec(Options& options, const CodecContext& context);
// kivi: asymmetric quantization, keys per channel over token groups, values per token over
// channel groups, the last tokens kept raw. Options: bits (2 or 4), group (32), residual (32).
std::unique_ptr<Codec> make_kivi_codec(Options& options, const CodecContext& context);
// cachegen: layer-wise bins, optional anchor/delta, per-(layer, channel) tables, entropy coding.
std::unique_ptr<Codec> make_cachegen_codec(Options& options, const CodecContext& context);

// Builds an offline probability profile for the cachegen codec configured by `options` from
// sample KV caches (all with the same layers and channels).
ProbabilityProfile build_cachegen_profile(Options& options, const CodecContext& context,
                                          const std::vector<KVCache>& samples);

}  // namespace cachegen
