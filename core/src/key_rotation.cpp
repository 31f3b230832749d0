#include "cachegen/core/key_rotation.h"

#include <cmath>

namespace cachegen {

RotationTable::RotationTable(const KeyRotation& rotation, int64_t first_position, int64_t positions)
    : half_(static_cast<int64_t>(rotation.inv_freq.size())),
      scaling_(rotation.attention_scaling),
      cos_(static_cast<size_t>(positions * half_)),
      sin_(static_cast<size_t>(positions * half_)) {
  for (int64_t t = 0; t < positions; ++t) {
    for (int64_t i = 0; i < half_; ++i) {
      const double angle = static_cast<double>(first_position + t) *
                           static_cast<double>(rotation.inv_freq[static_cast<size_t>(i)]);
      cos_[static_cast<size_t>(t * half_ + i)] = static_cast<float>(std::cos(angle));
      sin_[static_cast<size_t>(t * half_ + i)] = static_cast<float>(std::sin(angle));
    }
  }
}

void RotationTable::rotate(float* row, int64_t heads, int64_t token, bool inverse) const {
  const float* c = cos_.data() + token * half_;
  const float* s = sin_.data() + token * half_;
  // Forward: (x1, x2) -> a (x1 cos - x2 sin, x2 cos + x1 sin); inverse: the transpose, / a.
  const float sign = inverse ? -1.0f : 1.0f;
  const float scale = inverse ? 1.0f / scaling_ : scaling_;
  for (int64_t h = 0; h < heads; ++h) {
    float* x1 = row + h * 2 * half_;
    float* x2 = x1 + half_;
    for (int64_t i = 0; i < half_; ++i) {
      const float a = x1[i], b = x2[i];
      x1[i] = scale * (a * c[i] - sign * b * s[i]);
      x2[i] = scale * (b * c[i] + sign * a * s[i]);
    }
  }
}

}  // namespace cachegen
