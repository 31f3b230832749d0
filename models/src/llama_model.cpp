#include "cachegen/models/llama_model.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <torch/cuda.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include "cachegen/core/byte_io.h"
#include "cachegen/core/error.h"
#include "cachegen/core/parallel.h"
#include "cachegen/core/safetensors.h"
#include "llama_impl.h"

namespace cachegen {

namespace {
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
  if (load_options.device == "cuda" && !torch::cuda::is_available()) {
    fail("model '", m.directory,
         "': device cuda, but libtorch sees no CUDA device (a CPU build of torch, or no GPU)");
  }
  const std::string& attention = load_options.attention;
  if (attention != "auto" && attention != "blocked" && attention != "fused") {
    fail("model '", m.directory, "': attention '", attention,
         "' is not one of: auto, blocked, fused");
  }
  m.fused_attention =
      attention == "fused" || (attention == "auto" && load_options.device == "cuda");
}

void LlamaModel::Impl::for_each_weight(
    const std::function<void(const std::string&, const std::vector<int64_t>&, at::Tensor&)>& fn) {
  const ModelConfig& c = config;
  const int64_t hid = c.hidden_size, q_out = c.num_attention_heads * c.head_dim,
                kv_out = c.num_key_value_heads * c.head_dim, ffn = c.intermediate_size;
  fn("model.embed_tokens.weight", {c.vocab_size, hid}, embed);
  layers.resize(static_cast<size_t>(c.num_hidden_layers));
  for (size_t l = 0; l < layers.size(); ++l) {
    Layer& layer = layers[l];
    const std::string p = str("model.layers.", l, ".");
    fn(p + "input_layernorm.weight", {hid}, layer.input_norm);
    fn(p + "post_attention_layernorm.weight", {hid}, layer.post_norm);
    fn(p + "self_attn.q_proj.weight", {q_out, hid}, layer.q);
    fn(p + "self_attn.k_proj.weight", {kv_out, hid}, layer.k);
    fn(p + "self_attn.v_proj.weight", {kv_out, hid}, layer.v);
    fn(p + "self_attn.o_proj.weight", {hid, q_out}, layer.o);
    if (c.qkv_bias) {
      fn(p + "self_attn.q_proj.bias", {q_out}, layer.q_bias);
      fn(p + "self_attn.k_proj.bias", {kv_out}, layer.k_bias);
      fn(p + "self_attn.v_proj.bias", {kv_out}, layer.v_bias);
    }
    if (c.output_bias)
      fn(p + "self_attn.o_proj.bias", {hid}, layer.o_bias);
    fn(p + "mlp.gate_proj.weight", {ffn, hid}, layer.gate);
    fn(p + "mlp.up_proj.weight", {ffn, hid}, layer.up);
    fn(p + "mlp.down_proj.weight", {hid, ffn}, layer.down);
    if (c.mlp_bias) {
      fn(p + "mlp.gate_proj.bias", {ffn}, layer.gate_bias);
      fn(p + "mlp.up_proj.bias", {ffn}, layer.up_bias);
      fn(p + "mlp.down_proj.bias", {hid}, layer.down_bias);
    }
  }
  fn("model.norm.weight", {hid}, final_norm);
  if (!c.tie_word_embeddings)
    fn("lm_head.weight", {c.vocab_size, hid}, lm_head);
}

// Moves every expected tensor out of `w` into the model; anything left over is an error.
void LlamaModel::Impl::assemble(std::map<std::string, at::Tensor>& w) {
  for_each_weight([&](const std::string& name, const std::vector<int64_t>& shape,
                      at::Tensor& slot) { slot = take(w, name, shape); });
  w.erase("lm_head.weight");  // present in some tied checkpoints
  w.erase("model.rotary_emb.inv_freq");
  if (!w.empty()) {
    fail("checkpoint '", directory, "': unexpected tensor '", w.begin()->first, "' (", w.size(),
         " unused)");
  }
  finish();
}

void LlamaModel::Impl::finish() {
  if (config.tie_word_embeddings)
    lm_head = embed;
  init_rope();
}

std::map<std::string, at::Tensor> LlamaModel::Impl::named_weights() const {
  std::map<std::string, at::Tensor> w;
  // for_each_weight only hands out the slots; nothing is modified here.
  const_cast<Impl*>(this)->for_each_weight([&](const std::string& name, const std::vector<int64_t>&,
                                               at::Tensor& slot) { w[name] = slot; });
  return w;
}

void LlamaModel::save(const std::string& directory) const {
  std::string text = impl_->config.to_json();
  write_file_atomic(directory + "/config.json", std::vector<uint8_t>(text.begin(), text.end()));
  SafetensorsFile file;
  file.metadata["format"] = "pt";
  for (const auto& [name, tensor] : impl_->named_weights()) {
    at::Tensor t = tensor.detach().to(at::kCPU).to(at::kFloat).contiguous();
    SafetensorsTensor st;
    st.dtype = "F32";
    st.shape = t.sizes().vec();
    const auto* p = static_cast<const uint8_t*>(t.data_ptr());
    st.data.assign(p, p + t.numel() * 4);
    file.tensors.emplace(name, std::move(st));
  }
  file.save(directory + "/model.safetensors");
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
  // Drawn where the model runs: a CPU generator of this seed, or the device's default generator
  // reseeded (drawing 7e9 values on the host would take a minute).
  const bool on_cpu = impl->options.device().is_cpu();
  at::Generator generator = on_cpu ? at::detail::createCPUGenerator(seed)
                                   : at::globalContext().defaultGenerator(impl->options.device());
  if (!on_cpu) {
    std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_current_seed(seed);
  }
  const at::TensorOptions draw =
      at::TensorOptions()
          .dtype(on_cpu ? at::kFloat : impl->options.dtype().toScalarType())
          .device(impl->options.device());
  // Norm weights 1, biases 0, everything else normal(0, 0.02).
  impl->for_each_weight(
      [&](const std::string& name, const std::vector<int64_t>& shape, at::Tensor& slot) {
        bool norm = name.find("norm.weight") != std::string::npos;
        bool bias = name.size() > 5 && name.compare(name.size() - 5, 5, ".bias") == 0;
        at::Tensor t = norm   ? at::ones(shape, draw)
                       : bias ? at::zeros(shape, draw)
                              : at::normal(0.0, 0.02, shape, generator, draw);
        slot = t.to(impl->options);
      });
  impl->finish();
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

std::string LlamaModel::device() const {
  return impl_->options.device().is_cuda() ? "cuda" : "cpu";
}

int32_t LlamaModel::prefill_resident(const std::vector<int32_t>& tokens,
                                     const std::vector<ResidentKV>& past, const ResidentKV* out) {
  c10::InferenceMode guard;
  Impl& m = *impl_;
  if (tokens.empty())
    fail("prefill needs at least one token");
  const auto t = static_cast<int64_t>(tokens.size());
  const auto layers = static_cast<int64_t>(m.layers.size());
  const KVShape one = m.kv_shape(1);
  auto check = [&](const ResidentKV& kv, const char* what, size_t index) {
    KVShape expected = m.kv_shape(kv.shape.tokens);
    if (kv.shape != expected || !kv.data) {
      fail("model '", m.directory, "': resident ", what, " ", index, " of shape ",
           kv.shape.to_string(), kv.data ? "" : " (no memory)", " does not fit (needs ",
           expected.to_string(), ")");
    }
  };
  // Each piece viewed in place as [L, 2, T_i, Hkv, D]; per layer the pieces are joined into the
  // [Hkv, P, D] tensors forward() extends (one device copy of the context).
  std::vector<at::Tensor> ks(m.layers.size()), vs(m.layers.size());
  if (!past.empty()) {
    std::vector<std::vector<at::Tensor>> k_parts(m.layers.size()), v_parts(m.layers.size());
    for (size_t i = 0; i < past.size(); ++i) {
      check(past[i], "past piece", i);
      if (past[i].shape.tokens == 0)
        continue;
      at::Tensor all = at::from_blob(
          past[i].data, {layers, 2, past[i].shape.tokens, one.kv_heads, one.head_dim},
          at::TensorOptions().dtype(scalar_type_of(past[i].dtype)).device(m.options.device()));
      for (size_t l = 0; l < m.layers.size(); ++l) {
        k_parts[l].push_back(all[static_cast<int64_t>(l)][0]);
        v_parts[l].push_back(all[static_cast<int64_t>(l)][1]);
      }
    }
    for (size_t l = 0; l < m.layers.size() && !k_parts[l].empty(); ++l) {
      ks[l] = at::cat(k_parts[l], 0).transpose(0, 1).to(m.options.dtype()).contiguous();
      vs[l] = at::cat(v_parts[l], 0).transpose(0, 1).to(m.options.dtype()).contiguous();
    }
  }
  at::Tensor hidden = m.forward(m.ids_tensor(tokens), ks, vs);
  if (out) {
    check(*out, "output", 0);
    if (out->shape.tokens != t)
      fail("resident output holds ", out->shape.tokens, " tokens; the prefill makes ", t);
    at::Tensor dst = at::from_blob(
        out->data, {layers, 2, t, one.kv_heads, one.head_dim},
        at::TensorOptions().dtype(scalar_type_of(out->dtype)).device(m.options.device()));
    const int64_t p = ks[0].size(1) - t;
    for (size_t l = 0; l < m.layers.size(); ++l) {
      const auto li = static_cast<int64_t>(l);
      dst[li][0].copy_(ks[l].narrow(1, p, t).transpose(0, 1));
      dst[li][1].copy_(vs[l].narrow(1, p, t).transpose(0, 1));
    }
  }
  at::Tensor logits = at::linear(hidden.narrow(0, t - 1, 1), m.lm_head);
  // item() waits for the device: everything above ran on the same stream.
  return static_cast<int32_t>(logits.to(at::kFloat).argmax(-1).item<int64_t>());
}

namespace {
// Context positions a past's KV leaves out (H2O-style dropped tokens): the first new token's
// position minus the past's token count; -1 means none.
int64_t skipped_positions(const LlamaModel::Impl& m, const KVCache* past, int64_t first_position) {
  const int64_t cached = past ? past->shape().tokens : 0;
  if (first_position < 0)
    return 0;
  if (first_position < cached) {
    fail("first position ", first_position, " lies inside the past's ", cached, " cached tokens");
  }
  if (first_position > cached) {
    for (int64_t l = 0; l < m.config.num_hidden_layers; ++l) {
      if (m.config.attention_window(l) > 0)
        fail("model '", m.directory,
             "': a past with dropped tokens and sliding-window attention "
             "(layer ",
             l, ") is not supported: windows count cache slots, not positions");
    }
  }
  return first_position - cached;
}
}  // namespace

std::vector<float> LlamaModel::attention_received(const std::vector<int32_t>& tokens) {
  c10::InferenceMode guard;
  if (tokens.empty())
    fail("attention_received needs at least one token");
  Impl& m = *impl_;
  const auto t = static_cast<int64_t>(tokens.size());
  at::Tensor received = at::zeros({m.config.num_hidden_layers, m.config.num_key_value_heads, t},
                                  at::TensorOptions().dtype(at::kFloat).device(m.options.device()));
  std::vector<at::Tensor> ks, vs;
  m.import_kv(nullptr, ks, vs);
  m.forward(m.ids_tensor(tokens), ks, vs, 0, &received);
  received = received.to(at::kCPU).contiguous();
  return std::vector<float>(received.data_ptr<float>(),
                            received.data_ptr<float>() + received.numel());
}

PrefillResult LlamaModel::prefill(const std::vector<int32_t>& tokens, const KVCache* past,
                                  bool all_logits, int64_t first_position) {
  c10::InferenceMode guard;
  if (tokens.empty())
    fail("prefill needs at least one token");
  const int64_t skipped = skipped_positions(*impl_, past, first_position);
  std::vector<at::Tensor> ks, vs;
  impl_->import_kv(past, ks, vs);
  at::Tensor hidden = impl_->forward(impl_->ids_tensor(tokens), ks, vs, skipped);
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
                                          int max_new_tokens, int32_t eos, int64_t first_position) {
  c10::InferenceMode guard;
  if (prompt.empty())
    fail("generate needs a non-empty prompt");
  const int64_t skipped = skipped_positions(*impl_, past, first_position);
  std::vector<at::Tensor> ks, vs;
  impl_->import_kv(past, ks, vs);
  std::vector<int32_t> out;
  at::Tensor ids = impl_->ids_tensor(prompt);
  for (int i = 0; i < max_new_tokens; ++i) {
    at::Tensor hidden = impl_->forward(ids, ks, vs, skipped);
    at::Tensor logits = at::linear(hidden.narrow(0, hidden.size(0) - 1, 1), impl_->lm_head);
    auto next = static_cast<int32_t>(logits.to(at::kFloat).argmax(-1).item<int64_t>());
    out.push_back(next);
    if (next == eos)
      break;
    ids = impl_->ids_tensor({next});
  }
  return out;
}

std::vector<double> LlamaModel::log_probs(const std::vector<int32_t>& tokens, const KVCache* past,
                                          int64_t first_position) {
  c10::InferenceMode guard;
  if (tokens.empty())
    return {};
  const int64_t skipped = skipped_positions(*impl_, past, first_position);
  std::vector<at::Tensor> ks, vs;
  impl_->import_kv(past, ks, vs);
  at::Tensor hidden = impl_->forward(impl_->ids_tensor(tokens), ks, vs, skipped);
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
