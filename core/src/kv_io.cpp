#include "cachegen/core/kv_io.h"

#include <cstring>

#include "cachegen/core/error.h"
#include "cachegen/core/safetensors.h"

namespace cachegen {

namespace {
std::string layer_name(int64_t layer, int kind) {
  return str("layers.", layer, kind == kKey ? ".key" : ".value");
}
}  // namespace

KVCache load_kv(const std::string& path) {
  SafetensorsFile file = SafetensorsFile::load(path);
  auto whole = file.tensors.find("kv");
  if (whole != file.tensors.end()) {
    const SafetensorsTensor& t = whole->second;
    if (t.shape.size() != 5 || t.shape[1] != 2) {
      fail("KV file '", path, "': tensor 'kv' must have shape [layers, 2, tokens, heads, dim]");
    }
    DType dtype = parse_dtype(t.dtype);
    KVCache kv(KVShape{t.shape[0], t.shape[2], t.shape[3], t.shape[4]}, dtype);
    std::memcpy(kv.data(), t.data.data(), kv.byte_size());
    return kv;
  }
  auto first = file.tensors.find(layer_name(0, kKey));
  if (first == file.tensors.end()) {
    fail("KV file '", path, "': needs tensor 'kv' [L, 2, T, H, D] or 'layers.{l}.key' and ",
         "'layers.{l}.value' [T, H, D]");
  }
  const SafetensorsTensor& t0 = first->second;
  if (t0.shape.size() != 3) {
    fail("KV file '", path, "': tensor 'layers.0.key' must have shape [tokens, heads, dim]");
  }
  int64_t layers = 0;
  while (file.tensors.count(layer_name(layers, kKey)))
    ++layers;
  DType dtype = parse_dtype(t0.dtype);
  KVCache kv(KVShape{layers, t0.shape[0], t0.shape[1], t0.shape[2]}, dtype);
  for (int64_t layer = 0; layer < layers; ++layer) {
    for (int kind = 0; kind < 2; ++kind) {
      auto it = file.tensors.find(layer_name(layer, kind));
      if (it == file.tensors.end()) {
        fail("KV file '", path, "': missing tensor '", layer_name(layer, kind), "'");
      }
      if (it->second.shape != t0.shape || it->second.dtype != t0.dtype) {
        fail("KV file '", path, "': tensor '", layer_name(layer, kind),
             "' differs in shape or dtype from 'layers.0.key'");
      }
      std::memcpy(kv.plane(layer, kind), it->second.data.data(), it->second.data.size());
    }
  }
  return kv;
}

void save_kv(const std::string& path, const KVCache& kv, const std::string& model_name) {
  SafetensorsFile file;
  file.metadata["format"] = "cachegen-kv";
  if (!model_name.empty())
    file.metadata["model"] = model_name;
  SafetensorsTensor t;
  t.dtype = safetensors_dtype_name(kv.dtype());
  const KVShape& s = kv.shape();
  t.shape = {s.layers, 2, s.tokens, s.kv_heads, s.head_dim};
  t.data.assign(kv.data(), kv.data() + kv.byte_size());
  file.tensors.emplace("kv", std::move(t));
  file.save(path);
}

}  // namespace cachegen
