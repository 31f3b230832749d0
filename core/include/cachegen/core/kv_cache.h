// The KV cache layout every module shares.
//
// Per layer l and kind (0 = key, 1 = value), a plane of shape [tokens, kv_heads * head_dim]
// ("channels" C = kv_heads * head_dim, heads outermost, as Hugging Face lays out [T, H, D]).
// The whole cache is one contiguous buffer [layers, 2, tokens, channels] in its dtype.
#pragma once

#include <cstdint>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "cachegen/core/dtype.h"

namespace cachegen {

enum KVKind : int { kKey = 0, kValue = 1 };

struct KVShape {
  int64_t layers = 0;
  int64_t tokens = 0;
  int64_t kv_heads = 0;
  int64_t head_dim = 0;

  int64_t channels() const { return kv_heads * head_dim; }
  int64_t elements() const { return layers * 2 * tokens * channels(); }
  bool operator==(const KVShape& other) const {
    return layers == other.layers && tokens == other.tokens && kv_heads == other.kv_heads &&
           head_dim == other.head_dim;
  }
  bool operator!=(const KVShape& other) const { return !(*this == other); }
  std::string to_string() const;  // "[L=32, T=1536, H=8, D=128]"
};

// Allocates without zeroing: for buffers whose every byte is written before it is read (the
// first write then also faults the pages in, on the writer's thread).
template <typename T>
struct UninitializedAllocator : std::allocator<T> {
  template <typename U>
  struct rebind {
    using other = UninitializedAllocator<U>;
  };
  UninitializedAllocator() = default;
  template <typename U>
  UninitializedAllocator(const UninitializedAllocator<U>&) {}
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    if constexpr (sizeof...(Args) == 0) {
      ::new (static_cast<void*>(p)) U;
    } else {
      ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
    }
  }
};
using ByteBuffer = std::vector<uint8_t, UninitializedAllocator<uint8_t>>;

class KVCache {
 public:
  KVCache() = default;
  KVCache(KVShape shape, DType dtype);  // zero-filled
  // For decoders that write every element: skips the zero fill.
  static KVCache uninitialized(KVShape shape, DType dtype);

  const KVShape& shape() const { return shape_; }
  DType dtype() const { return dtype_; }
  size_t element_size() const { return dtype_size(dtype_); }
  size_t byte_size() const { return data_.size(); }
  uint8_t* data() { return data_.data(); }
  const uint8_t* data() const { return data_.data(); }

  // Start of plane (layer, kind): [tokens, channels] elements.
  uint8_t* plane(int64_t layer, int kind);
  const uint8_t* plane(int64_t layer, int kind) const;
  // Start of one token's row: channels elements.
  uint8_t* row(int64_t layer, int kind, int64_t token);
  const uint8_t* row(int64_t layer, int kind, int64_t token) const;

  float at(int64_t layer, int kind, int64_t token, int64_t channel) const;
  void load_row(int64_t layer, int kind, int64_t token, float* out) const;  // C floats
  void store_row(int64_t layer, int kind, int64_t token, const float* in);  // rounds to dtype

  // Tokens [begin, begin + count) as a new cache.
  KVCache slice_tokens(int64_t begin, int64_t count) const;
  // Concatenates caches of equal layers/heads/dims/dtype along the token axis.
  static KVCache concat_tokens(const std::vector<KVCache>& parts);
  // Same shape, every element converted to dtype.
  KVCache converted(DType dtype) const;

  // Throws naming (layer, kind, token, channel) of the first NaN or Inf.
  void check_finite(const std::string& what) const;

 private:
  size_t offset(int64_t layer, int kind, int64_t token) const;

  KVShape shape_;
  DType dtype_ = DType::kF16;
  ByteBuffer data_;
};

const char* kv_kind_name(int kind);  // "key" / "value"

// ||approx - reference|| / ||reference|| over every element (shapes must match).
double kv_relative_error(const KVCache& approx, const KVCache& reference);
// ||kv||^2 over every element.
double kv_squared_norm(const KVCache& kv);

}  // namespace cachegen
