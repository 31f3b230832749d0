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
#include "rope.h"

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
  at::TensorOptions options;     // device and dtype of weights and activations
  bool fused_attention = false;  // at::scaled_dot_product_attention instead of the blocked path
  struct Layer {
    at::Tensor input_norm, post_norm;
    at::Tensor q, k, v, o, q_bias, k_bias, v_bias, o_bias;  // biases undefined when absent
    at::Tensor gate, up, down, gate_bias, up_bias, down_bias;
  };
  at::Tensor embed, final_norm, lm_head;
  std::vector<Layer> layers;
  RopeFrequencies rope_base;  // at max_position_embeddings; dynamic RoPE rescales past it

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

  void init_rope() { rope_base = rope_frequencies(config, config.max_position_embeddings); }

  // cos and sin for positions [start, start + n): [n, head_dim]. Dynamic RoPE computes the
  // frequencies for this pass's length start + n (keys already cached keep theirs), as
  // transformers does in a sequence that grows from a fresh model (see llama_model.h).
  std::pair<at::Tensor, at::Tensor> rope(int64_t start, int64_t n) const {
    const int64_t length = start + n;
    RopeFrequencies f =
        rope_depends_on_length(config, length) ? rope_frequencies(config, length) : rope_base;
    at::Tensor pos =
        at::arange(start, length, at::TensorOptions().dtype(at::kFloat).device(options.device()));
    at::Tensor angles = at::outer(pos, f.inv_freq.to(options.device()));
    at::Tensor emb = at::cat({angles, angles}, -1);
    at::Tensor cos = emb.cos(), sin = emb.sin();
    if (f.attention_scaling != 1) {
      cos = cos * f.attention_scaling;
      sin = sin * f.attention_scaling;
    }
    return {cos.to(options.dtype()), sin.to(options.dtype())};
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

  // Causal attention of queries at positions [past, past + Tq) over keys [0, past + Tq); with a
  // window W > 0, query p sees keys (p - W, p] only, as transformers' sliding-window mask.
  // q [H, Tq, D], k and v [Hkv, Tk, D]; returns [Tq, H * D].
  // With `received` ([Hkv, Tk] float), each key's attention probabilities, summed over the
  // queries and the query heads that read its KV head, are added to it (H2O's heavy-hitter
  // score; the blocked path computes them, so it runs even when fused attention is chosen).
  at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, int64_t past,
                       int64_t window, at::Tensor* received = nullptr) const {
    if (fused_attention && !received)
      return fused(q, k, v, past, window);
    const int64_t heads = q.size(0), kv_heads = k.size(0), tq = q.size(1), d = q.size(2);
    const int64_t group = heads / kv_heads;
    const double scale = 1.0 / std::sqrt(static_cast<double>(d));
    at::Tensor qg = q.view({kv_heads, group, tq, d});
    at::Tensor kg = k.unsqueeze(1), vg = v.unsqueeze(1);  // broadcast over the group
    std::vector<at::Tensor> blocks;
    for (int64_t s = 0; s < tq; s += kQueryBlock) {
      const int64_t e = std::min(tq, s + kQueryBlock), kend = past + e;
      // Keys before kbegin are outside every query's window in this block.
      const int64_t kbegin = window > 0 ? std::max<int64_t>(0, past + s - window + 1) : 0;
      const int64_t keys = kend - kbegin;
      at::Tensor scores =
          at::matmul(qg.narrow(2, s, e - s), kg.narrow(2, kbegin, keys).transpose(-2, -1))
              .to(at::kFloat) *
          scale;
      const auto index = at::TensorOptions().dtype(at::kLong).device(q.device());
      at::Tensor qi = at::arange(past + s, past + e, index).unsqueeze(1);
      at::Tensor ki = at::arange(kbegin, kend, index).unsqueeze(0);
      at::Tensor hidden = ki > qi;
      if (window > 0)
        hidden = hidden | (ki <= qi - window);
      scores = scores.masked_fill(hidden, -INFINITY);
      at::Tensor probs = at::softmax(scores, -1);  // [Hkv, G, bq, keys] float
      if (received)
        received->narrow(1, kbegin, keys).add_(probs.sum({1, 2}));
      probs = probs.to(v.scalar_type());
      blocks.push_back(at::matmul(probs, vg.narrow(2, kbegin, keys)));  // [Hkv, G, bq, D]
    }
    at::Tensor out = at::cat(blocks, 2).view({heads, tq, d});
    return out.transpose(0, 1).reshape({tq, heads * d});
  }

  // attention() through at::scaled_dot_product_attention, on [1, H, T, D] (the fused kernels
  // take 4-d inputs only) with the KV heads repeated for their query groups (as transformers'
  // repeat_kv), so that a masked call can use the memory-efficient kernel. Without a past or a
  // window the kernel's own causal mask applies (FlashAttention on CUDA); otherwise a [Tq, Tk]
  // mask: query i sits at position past + i (bottom-right aligned).
  at::Tensor fused(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, int64_t past,
                   int64_t window) const {
    const int64_t heads = q.size(0), tq = q.size(1), d = q.size(2), tk = k.size(1);
    const int64_t group = heads / k.size(0);
    at::Tensor q4 = q.unsqueeze(0);
    at::Tensor k4 = (group > 1 ? k.repeat_interleave(group, 0) : k).unsqueeze(0);
    at::Tensor v4 = (group > 1 ? v.repeat_interleave(group, 0) : v).unsqueeze(0);
    at::Tensor out;
    if (past == 0 && (window <= 0 || window >= tq)) {
      out = at::scaled_dot_product_attention(q4, k4, v4, {}, 0.0, /*is_causal=*/true);
    } else {
      const auto index = at::TensorOptions().dtype(at::kLong).device(q.device());
      at::Tensor qi = at::arange(past, past + tq, index).unsqueeze(1);
      at::Tensor ki = at::arange(tk, index).unsqueeze(0);
      at::Tensor visible = ki <= qi;
      if (window > 0)
        visible = visible & (ki > qi - window);
      out = at::scaled_dot_product_attention(q4, k4, v4, visible, 0.0, /*is_causal=*/false);
    }
    return out.squeeze(0).transpose(0, 1).reshape({tq, heads * d});
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
    return x +
           at::linear(at::silu(at::linear(n, w.gate, w.gate_bias)) * at::linear(n, w.up, w.up_bias),
                      w.down, w.down_bias);
  }

  // One forward pass. ids [T]; past_k/past_v per layer [Hkv, P, D] (may be undefined).
  // Returns hidden states after the final norm [T, hidden] and updates the per-layer KV.
  // The new tokens sit at positions [P + skipped, P + skipped + T): `skipped` counts context
  // tokens whose KV was dropped (H2O), so later tokens keep their original positions; the mask
  // works on cache slots, where every past slot is visible to every new token.
  // `received` (optional, [L, Hkv, P + T] float, zeros): attention() adds each layer's scores.
  at::Tensor forward(const at::Tensor& ids, std::vector<at::Tensor>& ks,
                     std::vector<at::Tensor>& vs, int64_t skipped = 0,
                     at::Tensor* received = nullptr) const {
    const int64_t t = ids.size(0);
    const int64_t past = ks[0].defined() ? ks[0].size(1) : 0;
    const int64_t h = config.num_attention_heads, hkv = config.num_key_value_heads;
    auto [cos, sin] = rope(past + skipped, t);  // [T, D]
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
      at::Tensor layer_received;
      if (received)
        layer_received = (*received)[static_cast<int64_t>(l)];
      at::Tensor attended = attention(q, ks[l], vs[l], past, config.attention_window(l),
                                      received ? &layer_received : nullptr);
      x = add_mlp(w, x + at::linear(attended, w.o, w.o_bias));
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
    for (size_t l = 0; l < layers.size(); ++l) {
      const Layer& w = layers[l];
      at::Tensor n = rms_norm(x, w.input_norm);
      at::Tensor q = project(n, w.q, w.q_bias, h, cos, sin, true);  // [B, H, T, D]
      at::Tensor k = project(n, w.k, w.k_bias, hkv, cos, sin, true);
      at::Tensor v = project(n, w.v, w.v_bias, hkv, cos, sin, false);
      // Query head i reads KV head i / (H / Hkv), as in forward() and Hugging Face.
      const int64_t window = config.attention_window(l);
      at::Tensor attended;
      if (window > 0 && window < t) {  // mask [T, T]: true where query i may read key j
        at::Tensor i = at::arange(t, at::TensorOptions().dtype(at::kLong).device(x.device()));
        at::Tensor diff = i.unsqueeze(1) - i.unsqueeze(0);
        at::Tensor visible = (diff >= 0) & (diff < window);
        attended = at::scaled_dot_product_attention(q, k, v, visible, 0.0, /*is_causal=*/false,
                                                    std::nullopt, /*enable_gqa=*/true);
      } else {
        attended = at::scaled_dot_product_attention(q, k, v, {}, 0.0, /*is_causal=*/true,
                                                    std::nullopt, /*enable_gqa=*/true);
      }
      x = add_mlp(w, x + at::linear(attended.transpose(1, 2).reshape({b, t, -1}), w.o, w.o_bias));
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
