// CacheGen's layer-wise quantization: bins per layer for keys and values, from a level.
//
// Levels 1-3 are the reference's table for 32-layer models (cachegen_basics.py, Mistral-7B):
//   level 1: keys 16 | 16 | 12 over layers [0,10) [10,20) [20,32); values 16 | 12 over [0,2) [2,32)
//   level 2: keys 32 | 16 | 16;                                     values 32 | 16
//   level 3: keys 32 | 32 | 32;                                     values 32 | 32
// 80 layers, level 2: the reference's own 70B table (`family_70b`: keys 32 | 16 over [0,40)
// [40,80); values 32 | 16 over [0,20) [20,80)). It has no 80-layer table for levels 1 and 3.
// Elsewhere (any other layer count, and levels 1 and 3 at 80) the documented rule: the group
// boundaries of the 32-layer table scale with depth, keys at round(10N/32) and round(20N/32),
// values at max(1, round(2N/32)). Shallow layers get more bins: they matter more to quality.
// Containers record the bins they were written with, so a change here never breaks a decode.
#pragma once

#include <string>
#include <vector>

namespace cachegen {

constexpr int kMinLevel = 1;
constexpr int kMaxLevel = 3;

struct LayerBins {
  std::vector<int> key;    // bins per layer
  std::vector<int> value;  // bins per layer
};

LayerBins level_bins(int level, int layers);

// Run-length text of a per-layer list: "32*10,16*22"; parse accepts plain "32,16" items too.
std::string format_bins(const std::vector<int>& bins);
std::vector<int> parse_bins(const std::string& text, const std::string& what);

}  // namespace cachegen
