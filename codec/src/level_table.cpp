#include "cachegen/codec/level_table.h"

#include <cmath>
#include <cstdlib>

#include "cachegen/core/error.h"

namespace cachegen {

namespace {
int scaled_boundary(int layers, int numerator) {
  return static_cast<int>(std::floor(layers * numerator / 32.0 + 0.5));
}
}  // namespace

LayerBins level_bins(int level, int layers) {
  if (level < kMinLevel || level > kMaxLevel) {
    fail("cachegen level ", level, " is outside [", kMinLevel, ", ", kMaxLevel, "]");
  }
  static const int kKeyBins[3][3] = {{16, 16, 12}, {32, 16, 16}, {32, 32, 32}};
  static const int kValueBins[3][2] = {{16, 12}, {32, 16}, {32, 32}};
  if (layers == 80 && level == 2) {
    // The reference's table for its 80-layer family (LMCache cachegen_basics.py `family_70b`,
    // LongAlpaca-70B), which its 70B runs use: keys 32 over [0, 40), 16 after; values 32 over
    // [0, 20), 16 after.
    LayerBins bins;
    for (int l = 0; l < layers; ++l) {
      bins.key.push_back(l < 40 ? 32 : 16);
      bins.value.push_back(l < 20 ? 32 : 16);
    }
    return bins;
  }
  const int* key = kKeyBins[level - 1];
  const int* value = kValueBins[level - 1];
  int k1 = scaled_boundary(layers, 10), k2 = scaled_boundary(layers, 20);
  int v1 = std::max(1, scaled_boundary(layers, 2));
  LayerBins bins;
  for (int l = 0; l < layers; ++l) {
    bins.key.push_back(l < k1 ? key[0] : l < k2 ? key[1] : key[2]);
    bins.value.push_back(l < v1 ? value[0] : value[1]);
  }
  return bins;
}

std::string format_bins(const std::vector<int>& bins) {
  std::string out;
  for (size_t i = 0; i < bins.size();) {
    size_t j = i;
    while (j < bins.size() && bins[j] == bins[i])
      ++j;
    out += str(out.empty() ? "" : ",", bins[i], "*", j - i);
    i = j;
  }
  return out;
}

std::vector<int> parse_bins(const std::string& text, const std::string& what) {
  std::vector<int> bins;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos)
      end = text.size();
    std::string item = text.substr(start, end - start);
    size_t star = item.find('*');
    char* tail = nullptr;
    long value = std::strtol(item.c_str(), &tail, 10);
    long repeat = 1;
    bool ok = tail != item.c_str() && (star == std::string::npos ? *tail == '\0' : *tail == '*');
    if (ok && star != std::string::npos) {
      const char* rep = item.c_str() + star + 1;
      repeat = std::strtol(rep, &tail, 10);
      ok = tail != rep && *tail == '\0' && repeat >= 1 && repeat <= 100000;
    }
    if (!ok || value < 4 || value > 256) {  // 3 bins would leave max level B/2-1 = 0
      fail(what, ": '", item, "' is not BINS or BINS*COUNT with BINS in [4, 256]");
    }
    bins.insert(bins.end(), static_cast<size_t>(repeat), static_cast<int>(value));
    start = end + 1;
  }
  return bins;
}

}  // namespace cachegen
