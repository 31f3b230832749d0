// The decoder on a GPU (libtorch CUDA): the fused attention there against the blocked reference
// on the CPU, resident KV in device memory against a KV cache, and seeded random weights. Needs
// a GPU: skipped without one, unless CACHEGEN_REQUIRE_GPU=1 (scripts/gpu-check.sh) makes that a
// failure.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/cuda.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "cachegen/models/llama_model.h"

namespace cachegen {
namespace {

const std::string kBuiltin = CACHEGEN_SOURCE_DIR "/models/builtin";

class CudaModel : public ::testing::Test {
 protected:
  void SetUp() override {
    if (torch::cuda::is_available())
      return;
    const char* require = std::getenv("CACHEGEN_REQUIRE_GPU");
    if (require && std::string(require) == "1")
      FAIL() << "CACHEGEN_REQUIRE_GPU=1 but libtorch sees no CUDA device";
    GTEST_SKIP() << "no CUDA device";
  }
};

std::vector<int32_t> sample_tokens(int64_t count, int64_t vocab) {
  std::vector<int32_t> ids;
  for (int64_t i = 0; i < count; ++i)
    ids.push_back(static_cast<int32_t>((i * 7919 + 13) % vocab));
  return ids;
}

double relative_difference(const std::vector<float>& a, const std::vector<float>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    num += (a[i] - b[i]) * static_cast<double>(a[i] - b[i]);
    den += b[i] * static_cast<double>(b[i]);
  }
  return std::sqrt(num / den);
}

TEST_F(CudaModel, FusedAttentionOnTheGpuMatchesTheBlockedReference) {
  auto cpu = LlamaModel::load(kBuiltin, ModelLoadOptions{"cpu", "f32", 2});
  auto gpu = LlamaModel::load(kBuiltin, ModelLoadOptions{"cuda", "f32", 2});
  auto gpu_bf16 = LlamaModel::load(kBuiltin, ModelLoadOptions{"cuda", "bf16", 2});
  const std::vector<int32_t> ids = sample_tokens(700, cpu->vocab_size());
  const std::vector<int32_t> head(ids.begin(), ids.begin() + 500),
      tail(ids.begin() + 500, ids.end());
  PrefillResult c0 = cpu->prefill(head, nullptr, true);
  PrefillResult c1 = cpu->prefill(tail, &c0.kv, true);
  PrefillResult g0 = gpu->prefill(head, nullptr, true);
  PrefillResult g1 = gpu->prefill(tail, &c0.kv, true);
  EXPECT_LT(relative_difference(g0.logits, c0.logits), 1e-4);
  EXPECT_LT(relative_difference(g1.logits, c1.logits), 1e-4);
  EXPECT_LT(kv_relative_error(g1.kv, c1.kv), 1e-4);
  // bf16 weights and activations: rounding of 8 mantissa bits, not a different function.
  PrefillResult b1 = gpu_bf16->prefill(tail, &c0.kv, true);
  EXPECT_LT(relative_difference(b1.logits, c1.logits), 5e-2);
}

TEST_F(CudaModel, ResidentKVInDeviceMemoryEqualsAKVCache) {
  auto gpu = LlamaModel::load(kBuiltin, ModelLoadOptions{"cuda", "bf16", 2});
  const std::vector<int32_t> ids = sample_tokens(600, gpu->vocab_size());
  const std::vector<int32_t> a(ids.begin(), ids.begin() + 250),
      b(ids.begin() + 250, ids.begin() + 500), c(ids.begin() + 500, ids.end());
  PrefillResult first = gpu->prefill(a, nullptr, false);
  PrefillResult second = gpu->prefill(b, &first.kv, false);
  PrefillResult third = gpu->prefill(c, &second.kv, false);
  // The first 500 tokens' KV as two pieces in device memory.
  std::vector<at::Tensor> storage;
  std::vector<ResidentKV> past;
  for (auto [begin, count] : {std::pair<int64_t, int64_t>{0, 250}, {250, 250}}) {
    KVCache piece = second.kv.slice_tokens(begin, count);
    at::Tensor t = at::empty({static_cast<int64_t>(piece.byte_size())},
                             at::TensorOptions().dtype(at::kByte).device(at::kCUDA));
    t.copy_(at::from_blob(piece.data(), {t.size(0)}, at::kByte));
    storage.push_back(t);
    past.push_back({piece.shape(), piece.dtype(), t.data_ptr()});
  }
  at::Tensor out_storage = at::empty({gpu->kv_shape(100).elements() * 2},
                                     at::TensorOptions().dtype(at::kByte).device(at::kCUDA));
  const ResidentKV out{gpu->kv_shape(100), DType::kBF16, out_storage.data_ptr()};
  const int32_t next = gpu->prefill_resident(c, past, &out);
  const auto vocab = static_cast<long>(gpu->vocab_size());
  EXPECT_EQ(next, std::max_element(third.logits.begin(), third.logits.begin() + vocab) -
                      third.logits.begin());
  KVCache got = KVCache::uninitialized(out.shape, out.dtype);
  at::Tensor host = out_storage.to(at::kCPU);
  std::memcpy(got.data(), host.data_ptr(), got.byte_size());
  EXPECT_EQ(kv_relative_error(got, third.kv.slice_tokens(500, 100)), 0.0);
}

TEST_F(CudaModel, RandomWeightsAreDrawnOnTheDeviceFromTheSeed) {
  ModelConfig config = LlamaModel::load(kBuiltin, ModelLoadOptions{"cpu", "f32", 2})->config();
  auto one = LlamaModel::random(config, 7, ModelLoadOptions{"cuda", "bf16", 2});
  auto two = LlamaModel::random(config, 7, ModelLoadOptions{"cuda", "bf16", 2});
  auto other = LlamaModel::random(config, 8, ModelLoadOptions{"cuda", "bf16", 2});
  const std::vector<int32_t> ids = sample_tokens(64, config.vocab_size);
  const std::vector<float> a = one->prefill(ids, nullptr, false).logits;
  EXPECT_EQ(a, two->prefill(ids, nullptr, false).logits);
  EXPECT_NE(a, other->prefill(ids, nullptr, false).logits);
}

}  // namespace
}  // namespace cachegen
