// Per-codec GPU decode costs read from the CUDA codec's benchmark output
// (codec/cuda/bench/gpu_codec_bench.cpp, committed as results/gpu/gpu_codec_bench.md), so that
// hardware profiles price each codec's decode at its measured rate instead of one typed-in number.
//
// The file's lines that matter:
//   context: 8192 tokens in 6 chunks of 1536, 1073.7 MB of f16 KV
//   | codec | ... | decode GB/s (device) | decode GB/s (with H2D copy) | host parse ms | ... |
//   | cachegen:level=2 | ... | 202 | 133 | 20.7 | ... |
// Rates are GB/s of fp16 KV written (1e9 bytes); the upload's time is the difference of the two
// decode columns; the parse time is for the whole context, so it is taken per fp16 byte. Each row's
// codec spec is made into a codec here to learn every one of its parameters (a row with
// tables=profile stands for a codec with any offline profile).
#pragma once

#include <string>
#include <vector>

#include "cachegen/stream/compute_model.h"

namespace cachegen {

// Throws naming the file and line on a missing column, an unknown codec or option, or a value
// that is not a positive number.
std::vector<CodecDecodeCost> read_gpu_decode_rates(const std::string& path);

}  // namespace cachegen
