#include "cachegen/core/kv_cache.h"

#include <cmath>

#include "cachegen/core/error.h"

namespace cachegen {

std::string KVShape::to_string() const {
  return str("[L=", layers, ", T=", tokens, ", H=", kv_heads, ", D=", head_dim, "]");
}

const char* kv_kind_name(int kind) {
  return kind == kKey ? "key" : "value";
}

KVCache::KVCache(KVShape shape, DType dtype) : shape_(shape), dtype_(dtype) {
  if (shape.layers < 0 || shape.tokens < 0 || shape.kv_heads < 0 || shape.head_dim < 0) {
    fail("KV cache shape ", shape.to_string(), " has a negative dimension");
  }
  data_.assign(static_cast<size_t>(shape.elements()) * dtype_size(dtype), 0);
}

KVCache KVCache::uninitialized(KVShape shape, DType dtype) {
  KVCache kv;
  kv.shape_ = shape;
  kv.dtype_ = dtype;
  kv.data_.resize(static_cast<size_t>(shape.elements()) * dtype_size(dtype));
  return kv;
}

size_t KVCache::offset(int64_t layer, int kind, int64_t token) const {
  int64_t row_index = (layer * 2 + kind) * shape_.tokens + token;
  return static_cast<size_t>(row_index * shape_.channels()) * element_size();
}

uint8_t* KVCache::plane(int64_t layer, int kind) {
  return data_.data() + offset(layer, kind, 0);
}
const uint8_t* KVCache::plane(int64_t layer, int kind) const {
  return data_.data() + offset(layer, kind, 0);
}
uint8_t* KVCache::row(int64_t layer, int kind, int64_t token) {
  return data_.data() + offset(layer, kind, token);
}
const uint8_t* KVCache::row(int64_t layer, int kind, int64_t token) const {
  return data_.data() + offset(layer, kind, token);
}

float KVCache::at(int64_t layer, int kind, int64_t token, int64_t channel) const {
  float value;
  to_float(dtype_, row(layer, kind, token) + static_cast<size_t>(channel) * element_size(), &value,
           1);
  return value;
}

void KVCache::load_row(int64_t layer, int kind, int64_t token, float* out) const {
  to_float(dtype_, row(layer, kind, token), out, shape_.channels());
}

void KVCache::store_row(int64_t layer, int kind, int64_t token, const float* in) {
  from_float(dtype_, in, row(layer, kind, token), shape_.channels());
}

KVCache KVCache::slice_tokens(int64_t begin, int64_t count) const {
  if (begin < 0 || count < 0 || begin + count > shape_.tokens) {
    fail("token slice [", begin, ", ", begin + count, ") is outside a cache of ", shape_.tokens,
         " tokens");
  }
  KVShape shape = shape_;
  shape.tokens = count;
  KVCache out(shape, dtype_);
  size_t row_bytes = static_cast<size_t>(shape_.channels()) * element_size();
  for (int64_t layer = 0; layer < shape_.layers; ++layer) {
    for (int kind = 0; kind < 2; ++kind) {
      if (count > 0) {
        std::memcpy(out.plane(layer, kind), row(layer, kind, begin),
                    row_bytes * static_cast<size_t>(count));
      }
    }
  }
  return out;
}

KVCache KVCache::concat_tokens(const std::vector<KVCache>& parts) {
  if (parts.empty()) {
    fail("cannot concatenate zero KV caches");
  }
  KVShape shape = parts[0].shape();
  shape.tokens = 0;
  for (const KVCache& part : parts) {
    KVShape s = part.shape();
    if (s.layers != shape.layers || s.kv_heads != shape.kv_heads || s.head_dim != shape.head_dim ||
        part.dtype() != parts[0].dtype()) {
      fail("cannot concatenate KV caches of shapes ", parts[0].shape().to_string(), " (",
           dtype_name(parts[0].dtype()), ") and ", s.to_string(), " (", dtype_name(part.dtype()),
           ")");
    }
    shape.tokens += s.tokens;
  }
  KVCache out(shape, parts[0].dtype());
  size_t row_bytes = static_cast<size_t>(shape.channels()) * out.element_size();
  for (int64_t layer = 0; layer < shape.layers; ++layer) {
    for (int kind = 0; kind < 2; ++kind) {
      uint8_t* dst = out.plane(layer, kind);
      for (const KVCache& part : parts) {
        size_t bytes = row_bytes * static_cast<size_t>(part.shape().tokens);
        if (bytes > 0) {
          std::memcpy(dst, part.plane(layer, kind), bytes);
        }
        dst += bytes;
      }
    }
  }
  return out;
}

KVCache KVCache::converted(DType dtype) const {
  KVCache out(shape_, dtype);
  std::vector<float> buffer(static_cast<size_t>(shape_.channels()));
  for (int64_t layer = 0; layer < shape_.layers; ++layer) {
    for (int kind = 0; kind < 2; ++kind) {
      for (int64_t token = 0; token < shape_.tokens; ++token) {
        load_row(layer, kind, token, buffer.data());
        out.store_row(layer, kind, token, buffer.data());
      }
    }
  }
  return out;
}

void KVCache::check_finite(const std::string& what) const {
  std::vector<float> buffer(static_cast<size_t>(shape_.channels()));
  for (int64_t layer = 0; layer < shape_.layers; ++layer) {
    for (int kind = 0; kind < 2; ++kind) {
      for (int64_t token = 0; token < shape_.tokens; ++token) {
        load_row(layer, kind, token, buffer.data());
        for (int64_t c = 0; c < shape_.channels(); ++c) {
          if (!std::isfinite(buffer[static_cast<size_t>(c)])) {
            fail(what, ": non-finite value ", buffer[static_cast<size_t>(c)], " at layer ", layer,
                 ", ", kv_kind_name(kind), ", token ", token, ", channel ", c);
          }
        }
      }
    }
  }
}

namespace {
// Sums f(approx value, reference value) over every element, rows converted to float.
template <typename F>
double sum_elements(const KVCache& a, const KVCache& b, F f) {
  const KVShape& s = b.shape();
  std::vector<float> x(static_cast<size_t>(s.channels())), y(x.size());
  double sum = 0;
  for (int64_t l = 0; l < s.layers; ++l) {
    for (int kind = 0; kind < 2; ++kind) {
      for (int64_t t = 0; t < s.tokens; ++t) {
        a.load_row(l, kind, t, x.data());
        b.load_row(l, kind, t, y.data());
        for (size_t c = 0; c < x.size(); ++c)
          sum += f(static_cast<double>(x[c]), static_cast<double>(y[c]));
      }
    }
  }
  return sum;
}
}  // namespace

double kv_squared_norm(const KVCache& kv) {
  return sum_elements(kv, kv, [](double v, double) { return v * v; });
}

double kv_relative_error(const KVCache& approx, const KVCache& reference) {
  if (approx.shape() != reference.shape()) {
    fail("KV relative error: shapes differ: ", approx.shape().to_string(), " vs ",
         reference.shape().to_string());
  }
  const double diff =
      sum_elements(approx, reference, [](double a, double b) { return (a - b) * (a - b); });
  const double norm = kv_squared_norm(reference);
  return norm > 0 ? std::sqrt(diff / norm) : std::sqrt(diff);
}

}  // namespace cachegen
