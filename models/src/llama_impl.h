// The decoder's internals (private to models/src): shared by llama_model.cpp and trainer.cpp.
#pragma once

#include <ATen/ATen.h>

#include <cmath>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "cachegen/core/error.h"
#include "cachegen/models/llama_model.h"

namespace cachegen {

namespace llama_detail {
constexpr int64_t kQueryBlock = 128;

inline at::ScalarType scalar_type_of(const std::string& name, const std::string& where) {
  if (name == "f32" || name == "float32" || name == "F32")
    return at::kFloat;
  if (name == "bf16" || name == "bfloat16" || name == "BF16")
    return at::kBFloat16;
  if (name == "f16" || name == "float16" || name == "F16")
    return at::kHalf;
  fail(where, ": dtype '", name, "' is not supported; valid: f32, bf16, f16");
}

inline DType dtype_of(at::ScalarType t) {
  if (t == at::kFloat)
    return DType::kF32;
  if (t == at::kHalf)
    return DType::kF16;
  return DType::kBF16;
}

inline at::ScalarType scalar_type_of(DType d) {
  return d == DType::kF32 ? at::kFloat : d == DType::kF16 ? at::kHalf : at::kBFloat16;
}

}  // namespace llama_detail

using llama_detail::dtype_of;
using llama_detail::scalar_type_of;

struct LlamaModel::Impl {
  // Helpers of this header, visible unqualified inside the struct.
  static constexpr int64_t kQueryBlock = llama_detail::kQueryBlock;
  ModelConfig config;
  std::string directory;
  at::TensorOptions options;  // device and dtype of weights and activations
  struct Layer {
    at::Tensor input_norm, post_norm;
    at::Tensor q, k, v, o, q_bias, k_bias, v_bias;
    at::Tensor gate, up, down;
  };
  at::Tensor embed, final_norm, lm_head;
  std::vector<Layer> layers;
  at::Tensor inv_freq;  // [head_dim / 2], f32

  void prepare(const ModelLoadOptions& options);  // threads, device, dtype
  // Visits every weight slot with its Hugging Face name and shape: the one list of the
  // checkpoint layout, used to load, save and initialise.
  void for_each_weight(
      const std::function<void(const std::string&, const std::vector<int64_t>&, at::Tensor&)>& fn);
  void assemble(std::map<std::string, at::Tensor>& weights);
  void finish();  // ties the head to the embedding if configured; RoPE tables
  // Every weight under its Hugging Face name (the inverse of assemble).
  std::map<std::string, at::Tensor> named_weights() const;

  at::Tensor take(std::map<std::string, at::Tensor>& weights, const std::string& name,
                  std::vector<int64_t> shape) {
    auto it = weights.find(name);
    if (it == weights.end())
      fail("checkpoint '", directory, "': missing tensor '", name, "'");
    if (it->second.sizes().vec() != shape) {
      fail("checkpoint '", directory, "': tensor '", name, "' has shape ", it->second.sizes(),
           ", expected ", at::IntArrayRef(shape));
    }
    at::Tensor t = it->second.to(options);
    weights.erase(it);
    return t;
  }

  void init_rope() {
    const int64_t d = config.head_dim;
    at::Tensor exponent = at::arange(0, d, 2, at::kDouble) / static_cast<double>(d);
    at::Tensor freq = 1.0 / at::pow(at::full({}, config.rope_theta, at::kDouble), exponent);
    const RopeScaling& s = config.rope_scaling;
    if (s.factor > 0) {  // Llama 3: stretch low frequencies, keep high ones, blend between
      const auto original = static_cast<double>(s.original_max_position_embeddings);
      const double low_wavelen = original / s.low_freq_factor;
      const double high_wavelen = original / s.high_freq_factor;
      at::Tensor wavelen = 2 * M_PI / freq;
      at::Tensor scaled = at::where(wavelen > low_wavelen, freq / s.factor, freq);
      at::Tensor smooth =
          (original / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
      at::Tensor blended = (1 - smooth) * scaled / s.factor + smooth * scaled;
      at::Tensor medium = (wavelen >= high_wavelen) & (wavelen <= low_wavelen);
      freq = at::where(medium, blended, scaled);
    }
    inv_freq = freq.to(at::kFloat).to(options.device());
  }

  // cos and sin for positions [start, start + n): [n, head_dim].
  std::pair<at::Tensor, at::Tensor> rope(int64_t start, int64_t n) const {
    at::Tensor pos = at::arange(start, start + n,
                                at::TensorOptions().dtype(at::kFloat).device(options.device()));
    at::Tensor angles = at::outer(pos, inv_freq);
    at::Tensor emb = at::cat({angles, angles}, -1);
    return {emb.cos().to(options.dtype()), emb.sin().to(options.dtype())};
  }

  static at::Tensor rotate_half(const at::Tensor& x) {
    int64_t half = x.size(-1) / 2;
    return at::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
  }

  at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight) const {
    at::Tensor f = x.to(at::kFloat);
    f = f * at::rsqrt(f.pow(2).mean(-1, true) + config.rms_norm_eps);
    return weight * f.to(x.scalar_type());
  }

  // Causal attention of queries at positions [past, past + Tq) over keys [0, past + Tq).
  // q [H, Tq, D], k and v [Hkv, Tk, D]; returns [Tq, H * D].
  at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                       int64_t past) const {
    const int64_t heads = q.size(0), kv_heads = k.size(0), tq = q.size(1), d = q.size(2);
    const int64_t group = heads / kv_heads;
    const double scale = 1.0 / std::sqrt(static_cast<double>(d));
    at::Tensor qg = q.view({kv_heads, group, tq, d});
    at::Tensor kg = k.unsqueeze(1), vg = v.unsqueeze(1);  // broadcast over the group
    std::vector<at::Tensor> blocks;
    for (int64_t s = 0; s < tq; s += kQueryBlock) {
      const int64_t e = std::min(tq, s + kQueryBlock), kend = past + e;
      at::Tensor scores =
          at::matmul(qg.narrow(2, s, e - s), kg.narrow(2, 0, kend).transpose(-2, -1))
              .to(at::kFloat) *
          scale;
      at::Tensor qi =
          at::arange(past + s, past + e, at::TensorOptions().dtype(at::kLong).device(q.device()))
              .unsqueeze(1);
      at::Tensor ki =
          at::arange(0, kend, at::TensorOptions().dtype(at::kLong).device(q.device())).unsqueeze(0);
      scores = scores.masked_fill(ki > qi, -INFINITY);
      at::Tensor probs = at::softmax(scores, -1).to(v.scalar_type());
      blocks.push_back(at::matmul(probs, vg.narrow(2, 0, kend)));  // [Hkv, G, bq, D]
    }
    at::Tensor out = at::cat(blocks, 2).view({heads, tq, d});
    return out.transpose(0, 1).reshape({tq, heads * d});
  }

  // One attention projection of normed hidden states n [..., T, hidden] into `heads` heads:
  // [..., heads, T, D], with RoPE (cos, sin [T, D]) when `rotate`.
  at::Tensor project(const at::Tensor& n, const at::Tensor& weight, const at::Tensor& bias,
                     int64_t heads, const at::Tensor& cos, const at::Tensor& sin,
                     bool rotate) const {
    std::vector<int64_t> shape = n.sizes().vec();
    shape.back() = heads;
    shape.push_back(config.head_dim);
    at::Tensor x = at::linear(n, weight, bias).view(shape).transpose(-3, -2);
    return rotate ? x * cos + rotate_half(x) * sin : x;
  }

  // x + the layer's SwiGLU MLP of x; x [..., hidden].
  at::Tensor add_mlp(const Layer& w, const at::Tensor& x) const {
    at::Tensor n = rms_norm(x, w.post_norm);
    return x + at::linear(at::silu(at::linear(n, w.gate)) * at::linear(n, w.up), w.down);
  }

  // One forward pass. ids [T]; past_k/past_v per layer [Hkv, P, D] (may be undefined).
  // Returns hidden states after the final norm [T, hidden] and updates the per-layer KV.
  at::Tensor forward(const at::Tensor& ids, std::vector<at::Tensor>& ks,
                     std::vector<at::Tensor>& vs) const {
    const int64_t t = ids.size(0);
    const int64_t past = ks[0].defined() ? ks[0].size(1) : 0;
    const int64_t h = config.num_attention_heads, hkv = config.num_key_value_heads;
    auto [cos, sin] = rope(past, t);  // [T, D]
    at::Tensor x = embed.index_select(0, ids);
    for (size_t l = 0; l < layers.size(); ++l) {
      const Layer& w = layers[l];
      at::Tensor n = rms_norm(x, w.input_norm);
      at::Tensor q = project(n, w.q, w.q_bias, h, cos, sin, true);  // [H, T, D]
      at::Tensor k = project(n, w.k, w.k_bias, hkv, cos, sin, true);
      at::Tensor v = project(n, w.v, w.v_bias, hkv, cos, sin, false);
      if (past > 0) {
        k = at::cat({ks[l], k}, 1);
        v = at::cat({vs[l], v}, 1);
      }
      ks[l] = k.contiguous();
      vs[l] = v.contiguous();
      x = add_mlp(w, x + at::linear(attention(q, ks[l], vs[l], past), w.o));
    }
    return rms_norm(x, final_norm);
  }

  // Training's forward pass over a batch: ids [B, T], every sequence from position 0, no KV
  // cache; returns hidden states after the final norm [B, T, hidden]. Sequences shorter than T
  // are padded at the end: causal attention never lets a real token see the padding. Checked
  // against forward() sequence by sequence (trainer_test).
  at::Tensor forward_batch(const at::Tensor& ids) const {
    const int64_t b = ids.size(0), t = ids.size(1);
    const int64_t h = config.num_attention_heads, hkv = config.num_key_value_heads;
    auto [cos, sin] = rope(0, t);  // [T, D], broadcast over [B, heads, T, D]
    at::Tensor x = embed.index_select(0, ids.reshape({-1})).view({b, t, config.hidden_size});
    for (const Layer& w : layers) {
      at::Tensor n = rms_norm(x, w.input_norm);
      at::Tensor q = project(n, w.q, w.q_bias, h, cos, sin, true);  // [B, H, T, D]
      at::Tensor k = project(n, w.k, w.k_bias, hkv, cos, sin, true);
      at::Tensor v = project(n, w.v, w.v_bias, hkv, cos, sin, false);
      // Query head i reads KV head i / (H / Hkv), as in forward() and Hugging Face.
      at::Tensor attended = at::scaled_dot_product_attention(q, k, v, {}, 0.0, /*is_causal=*/true,
                                                             std::nullopt, /*enable_gqa=*/true);
      x = add_mlp(w, x + at::linear(attended.transpose(1, 2).reshape({b, t, -1}), w.o));
    }
    return rms_norm(x, final_norm);
  }

  at::Tensor ids_tensor(const std::vector<int32_t>& tokens) const {
    for (int32_t id : tokens) {
      if (id < 0 || id >= config.vocab_size) {
        fail("token id ", id, " is outside the vocabulary of ", config.vocab_size);
      }
    }
    return at::tensor(std::vector<int64_t>(tokens.begin(), tokens.end()), at::kLong)
        .to(options.device());
  }

  // core KV -> per-layer [Hkv, T, D] tensors in the model's dtype and device.
  void import_kv(const KVCache* kv, std::vector<at::Tensor>& ks,
                 std::vector<at::Tensor>& vs) const {
    ks.assign(layers.size(), at::Tensor());
    vs.assign(layers.size(), at::Tensor());
    if (!kv || kv->shape().tokens == 0)
      return;
    KVShape expected = kv_shape(kv->shape().tokens);
    if (kv->shape() != expected) {
      fail("KV cache of shape ", kv->shape().to_string(), " does not fit model '", directory,
           "' (needs ", expected.to_string(), ")");
    }
    const KVShape& s = kv->shape();
    at::Tensor all = at::from_blob(const_cast<uint8_t*>(kv->data()),
                                   {s.layers, 2, s.tokens, s.kv_heads, s.head_dim},
                                   at::TensorOptions().dtype(scalar_type_of(kv->dtype())));
    all = all.to(options);
    for (int64_t l = 0; l < s.layers; ++l) {
      ks[static_cast<size_t>(l)] = all[l][0].transpose(0, 1).contiguous();
      vs[static_cast<size_t>(l)] = all[l][1].transpose(0, 1).contiguous();
    }
  }

  KVCache export_kv(const std::vector<at::Tensor>& ks, const std::vector<at::Tensor>& vs) const {
    const int64_t tokens = ks[0].size(1);
    KVCache kv = KVCache::uninitialized(kv_shape(tokens), dtype_of(options.dtype().toScalarType()));
    std::vector<at::Tensor> planes;
    for (size_t l = 0; l < ks.size(); ++l) {
      planes.push_back(
          at::stack({ks[l].transpose(0, 1), vs[l].transpose(0, 1)}));  // [2, T, Hkv, D]
    }
    at::Tensor all = at::stack(planes).to(at::kCPU).contiguous();
    std::memcpy(kv.data(), all.data_ptr(), kv.byte_size());
    return kv;
  }

  KVShape kv_shape(int64_t tokens) const {
    return KVShape{config.num_hidden_layers, tokens, config.num_key_value_heads, config.head_dim};
  }
};

}  // namespace cachegen
