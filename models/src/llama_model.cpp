#include "cachegen/models/llama_model.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "cachegen/core/byte_io.h"
#include "cachegen/core/error.h"
#include "cachegen/core/parallel.h"
#include "cachegen/core/safetensors.h"

namespace cachegen {

namespace {
constexpr int64_t kQueryBlock = 128;

at::ScalarType scalar_type_of(const std::string& name, const std::string& where) {
  if (name == "f32" || name == "float32" || name == "F32")
    return at::kFloat;
  if (name == "bf16" || name == "bfloat16" || name == "BF16")
    return at::kBFloat16;
  if (name == "f16" || name == "float16" || name == "F16")
    return at::kHalf;
  fail(where, ": dtype '", name, "' is not supported; valid: f32, bf16, f16");
}

DType dtype_of(at::ScalarType t) {
  if (t == at::kFloat)
    return DType::kF32;
  if (t == at::kHalf)
    return DType::kF16;
  return DType::kBF16;
}

at::ScalarType scalar_type_of(DType d) {
  return d == DType::kF32 ? at::kFloat : d == DType::kF16 ? at::kHalf : at::kBFloat16;
}

// All tensors of a checkpoint directory: model.safetensors, or the shards its index names.
std::map<std::string, at::Tensor> load_weights(const std::string& dir) {
  std::vector<std::string> files;
  std::string index_path = dir + "/model.safetensors.index.json";
  if (std::ifstream(index_path).good()) {
    std::vector<uint8_t> bytes = read_file(index_path);
    nlohmann::json index;
    try {
      index = nlohmann::json::parse(bytes.begin(), bytes.end());
    } catch (const nlohmann::json::exception& e) {
      fail(index_path, ": not valid JSON: ", e.what());
    }
    if (!index.contains("weight_map") || !index["weight_map"].is_object()) {
      fail(index_path, ": missing object 'weight_map'");
    }
    std::set<std::string> shards;
    for (auto it = index["weight_map"].begin(); it != index["weight_map"].end(); ++it) {
      if (!it->is_string())
        fail(index_path, ": weight_map entry '", it.key(), "' is not a file name");
      shards.insert(it->get<std::string>());
    }
    for (const std::string& s : shards)
      files.push_back(dir + "/" + s);
  } else {
    files.push_back(dir + "/model.safetensors");
  }
  std::map<std::string, at::Tensor> weights;
  for (const std::string& path : files) {
    SafetensorsFile file = SafetensorsFile::load(path);
    for (auto& [name, t] : file.tensors) {
      at::ScalarType type = scalar_type_of(t.dtype, path + " tensor '" + name + "'");
      at::Tensor tensor =
          at::from_blob(t.data.data(), t.shape, at::TensorOptions().dtype(type)).clone();
      weights.emplace(name, std::move(tensor));
    }
  }
  return weights;
}
}  // namespace

struct LlamaModel::Impl {
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
  void assemble(std::map<std::string, at::Tensor>& weights);

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

  // One forward pass. ids [T]; past_k/past_v per layer [Hkv, P, D] (may be undefined).
  // Returns hidden states after the final norm [T, hidden] and updates the per-layer KV.
  at::Tensor forward(const at::Tensor& ids, std::vector<at::Tensor>& ks,
                     std::vector<at::Tensor>& vs) const {
    const int64_t t = ids.size(0);
    const int64_t past = ks[0].defined() ? ks[0].size(1) : 0;
    const int64_t h = config.num_attention_heads, hkv = config.num_key_value_heads,
                  d = config.head_dim;
    auto [cos, sin] = rope(past, t);  // [T, D]
    at::Tensor x = embed.index_select(0, ids);
    for (size_t l = 0; l < layers.size(); ++l) {
      const Layer& w = layers[l];
      at::Tensor n = rms_norm(x, w.input_norm);
      at::Tensor q = at::linear(n, w.q, w.q_bias).view({t, h, d}).transpose(0, 1);
      at::Tensor k = at::linear(n, w.k, w.k_bias).view({t, hkv, d}).transpose(0, 1);
      at::Tensor v = at::linear(n, w.v, w.v_bias).view({t, hkv, d}).transpose(0, 1);
      q = q * cos + rotate_half(q) * sin;
      k = k * cos + rotate_half(k) * sin;
      if (past > 0) {
        k = at::cat({ks[l], k}, 1);
        v = at::cat({vs[l], v}, 1);
      }
      ks[l] = k.contiguous();
      vs[l] = v.contiguous();
      x = x + at::linear(attention(q, ks[l], vs[l], past), w.o);
      n = rms_norm(x, w.post_norm);
      x = x + at::linear(at::silu(at::linear(n, w.gate)) * at::linear(n, w.up), w.down);
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

LlamaModel::LlamaModel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LlamaModel::~LlamaModel() = default;

void LlamaModel::Impl::prepare(const ModelLoadOptions& load_options) {
  Impl& m = *this;
  at::set_num_threads(load_options.threads > 0 ? load_options.threads : hardware_threads());
  at::ScalarType type =
      scalar_type_of(load_options.dtype.empty() ? m.config.torch_dtype : load_options.dtype,
                     "model '" + m.directory + "'");
  if (load_options.device != "cpu" && load_options.device != "cuda") {
    fail("model '", m.directory, "': device '", load_options.device, "' is not cpu or cuda");
  }
  m.options =
      at::TensorOptions().dtype(type).device(load_options.device == "cuda" ? at::kCUDA : at::kCPU);
}

// Moves every expected tensor out of `w` into the model; anything left over is an error.
void LlamaModel::Impl::assemble(std::map<std::string, at::Tensor>& w) {
  Impl& m = *this;
  const ModelConfig& c = m.config;
  const int64_t hid = c.hidden_size, q_out = c.num_attention_heads * c.head_dim,
                kv_out = c.num_key_value_heads * c.head_dim;
  m.embed = m.take(w, "model.embed_tokens.weight", {c.vocab_size, hid});
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    std::string p = str("model.layers.", l, ".");
    Layer layer;
    layer.input_norm = m.take(w, p + "input_layernorm.weight", {hid});
    layer.post_norm = m.take(w, p + "post_attention_layernorm.weight", {hid});
    layer.q = m.take(w, p + "self_attn.q_proj.weight", {q_out, hid});
    layer.k = m.take(w, p + "self_attn.k_proj.weight", {kv_out, hid});
    layer.v = m.take(w, p + "self_attn.v_proj.weight", {kv_out, hid});
    layer.o = m.take(w, p + "self_attn.o_proj.weight", {hid, q_out});
    if (c.attention_bias) {
      layer.q_bias = m.take(w, p + "self_attn.q_proj.bias", {q_out});
      layer.k_bias = m.take(w, p + "self_attn.k_proj.bias", {kv_out});
      layer.v_bias = m.take(w, p + "self_attn.v_proj.bias", {kv_out});
    }
    layer.gate = m.take(w, p + "mlp.gate_proj.weight", {c.intermediate_size, hid});
    layer.up = m.take(w, p + "mlp.up_proj.weight", {c.intermediate_size, hid});
    layer.down = m.take(w, p + "mlp.down_proj.weight", {hid, c.intermediate_size});
    m.layers.push_back(std::move(layer));
  }
  m.final_norm = m.take(w, "model.norm.weight", {hid});
  if (c.tie_word_embeddings) {
    m.lm_head = m.embed;
    w.erase("lm_head.weight");
  } else {
    m.lm_head = m.take(w, "lm_head.weight", {c.vocab_size, hid});
  }
  w.erase("model.rotary_emb.inv_freq");
  if (!w.empty()) {
    fail("checkpoint '", m.directory, "': unexpected tensor '", w.begin()->first, "' (", w.size(),
         " unused)");
  }
  m.init_rope();
}

std::unique_ptr<LlamaModel> LlamaModel::load(const std::string& directory,
                                             const ModelLoadOptions& load_options) {
  auto impl = std::make_unique<Impl>();
  impl->directory = directory;
  impl->config = ModelConfig::load(directory + "/config.json");
  impl->prepare(load_options);
  std::map<std::string, at::Tensor> weights = load_weights(directory);
  impl->assemble(weights);
  return std::unique_ptr<LlamaModel>(new LlamaModel(std::move(impl)));
}

std::unique_ptr<LlamaModel> LlamaModel::random(const ModelConfig& config, uint64_t seed,
                                               const ModelLoadOptions& load_options) {
  auto impl = std::make_unique<Impl>();
  impl->directory = str("random(seed ", seed, ")");
  impl->config = config;
  impl->prepare(load_options);
  at::Generator generator = at::detail::createCPUGenerator(seed);
  auto normal = [&](std::vector<int64_t> shape) {
    return at::normal(0.0, 0.02, shape, generator, at::TensorOptions().dtype(at::kFloat));
  };
  const ModelConfig& c = config;
  const int64_t hid = c.hidden_size, q_out = c.num_attention_heads * c.head_dim,
                kv_out = c.num_key_value_heads * c.head_dim;
  std::map<std::string, at::Tensor> w;
  w["model.embed_tokens.weight"] = normal({c.vocab_size, hid});
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    std::string p = str("model.layers.", l, ".");
    w[p + "input_layernorm.weight"] = at::ones({hid});
    w[p + "post_attention_layernorm.weight"] = at::ones({hid});
    w[p + "self_attn.q_proj.weight"] = normal({q_out, hid});
    w[p + "self_attn.k_proj.weight"] = normal({kv_out, hid});
    w[p + "self_attn.v_proj.weight"] = normal({kv_out, hid});
    w[p + "self_attn.o_proj.weight"] = normal({hid, q_out});
    if (c.attention_bias) {
      w[p + "self_attn.q_proj.bias"] = at::zeros({q_out});
      w[p + "self_attn.k_proj.bias"] = at::zeros({kv_out});
      w[p + "self_attn.v_proj.bias"] = at::zeros({kv_out});
    }
    w[p + "mlp.gate_proj.weight"] = normal({c.intermediate_size, hid});
    w[p + "mlp.up_proj.weight"] = normal({c.intermediate_size, hid});
    w[p + "mlp.down_proj.weight"] = normal({hid, c.intermediate_size});
  }
  w["model.norm.weight"] = at::ones({hid});
  if (!c.tie_word_embeddings)
    w["lm_head.weight"] = normal({c.vocab_size, hid});
  impl->assemble(w);
  return std::unique_ptr<LlamaModel>(new LlamaModel(std::move(impl)));
}

const ModelConfig& LlamaModel::config() const {
  return impl_->config;
}
std::string LlamaModel::name() const {
  return impl_->directory;
}
int64_t LlamaModel::vocab_size() const {
  return impl_->config.vocab_size;
}
KVShape LlamaModel::kv_shape(int64_t tokens) const {
  return impl_->kv_shape(tokens);
}

PrefillResult LlamaModel::prefill(const std::vector<int32_t>& tokens, const KVCache* past,
                                  bool all_logits) {
  c10::InferenceMode guard;
  if (tokens.empty())
    fail("prefill needs at least one token");
  std::vector<at::Tensor> ks, vs;
  impl_->import_kv(past, ks, vs);
  at::Tensor hidden = impl_->forward(impl_->ids_tensor(tokens), ks, vs);
  if (!all_logits)
    hidden = hidden.narrow(0, hidden.size(0) - 1, 1);
  at::Tensor logits = at::linear(hidden, impl_->lm_head).to(at::kFloat).to(at::kCPU).contiguous();
  PrefillResult result;
  result.kv = impl_->export_kv(ks, vs);
  result.positions = logits.size(0);
  result.logits.assign(logits.data_ptr<float>(), logits.data_ptr<float>() + logits.numel());
  return result;
}

std::vector<int32_t> LlamaModel::generate(const std::vector<int32_t>& prompt, const KVCache* past,
                                          int max_new_tokens, int32_t eos) {
  c10::InferenceMode guard;
  if (prompt.empty())
    fail("generate needs a non-empty prompt");
  std::vector<at::Tensor> ks, vs;
  impl_->import_kv(past, ks, vs);
  std::vector<int32_t> out;
  at::Tensor ids = impl_->ids_tensor(prompt);
  for (int i = 0; i < max_new_tokens; ++i) {
    at::Tensor hidden = impl_->forward(ids, ks, vs);
    at::Tensor logits = at::linear(hidden.narrow(0, hidden.size(0) - 1, 1), impl_->lm_head);
    auto next = static_cast<int32_t>(logits.to(at::kFloat).argmax(-1).item<int64_t>());
    out.push_back(next);
    if (next == eos)
      break;
    ids = impl_->ids_tensor({next});
  }
  return out;
}

std::vector<double> LlamaModel::log_probs(const std::vector<int32_t>& tokens, const KVCache* past) {
  c10::InferenceMode guard;
  if (tokens.empty())
    return {};
  std::vector<at::Tensor> ks, vs;
  impl_->import_kv(past, ks, vs);
  at::Tensor hidden = impl_->forward(impl_->ids_tensor(tokens), ks, vs);
  at::Tensor logp =
      at::log_softmax(at::linear(hidden, impl_->lm_head).to(at::kFloat), -1).to(at::kCPU);
  // Position i predicts token i + 1.
  std::vector<double> out;
  for (size_t i = 0; i + 1 < tokens.size(); ++i) {
    out.push_back(logp[static_cast<int64_t>(i)][tokens[i + 1]].item<float>());
  }
  return out;
}

}  // namespace cachegen
