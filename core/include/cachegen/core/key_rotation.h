// How a model rotates its keys before they enter the KV cache (RoPE, Hugging Face's rotate_half
// layout): within each head of D channels, the pair (i, i + D/2) turns by the angle
// position * inv_freq[i], and both are scaled by attention_scaling (yarn; 1 otherwise). A
// transform codec undoes it so that keys of different positions share one basis, and the
// decoder applies it again (kvtc, codec/src/codecs/kvtc_codec.cpp).
#pragma once

#include <cstdint>
#include <vector>

namespace cachegen {

struct KeyRotation {
  std::vector<float> inv_freq;  // [head_dim / 2], radians per position
  float attention_scaling = 1;

  bool empty() const { return inv_freq.empty(); }
};

// cos and sin of every (position, frequency) of a token range: [positions, head_dim / 2] each,
// times attention_scaling. Angles are computed in double, so that rotations at large positions
// stay accurate.
class RotationTable {
 public:
  RotationTable(const KeyRotation& rotation, int64_t first_position, int64_t positions);

  // Rotates one token's key row [heads, head_dim] in place: forward (as the model does) or
  // inverse (undoes a forward rotation: turns back and divides by the scaling).
  void rotate(float* row, int64_t heads, int64_t token, bool inverse) const;

 private:
  int64_t half_ = 0;
  float scaling_ = 1;
  std::vector<float> cos_, sin_;  // [positions, half], unscaled
};

}  // namespace cachegen
