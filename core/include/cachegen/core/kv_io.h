// KV caches on disk as safetensors: either one tensor "kv" of shape [L, 2, T, H, D], or per layer
// "layers.{l}.key" and "layers.{l}.value" of shape [T, H, D]. Metadata keys: "format"
// ("cachegen-kv"), "model" (optional).
#pragma once

#include <string>

#include "cachegen/core/kv_cache.h"

namespace cachegen {

KVCache load_kv(const std::string& path);
void save_kv(const std::string& path, const KVCache& kv, const std::string& model_name = "");

}  // namespace cachegen
