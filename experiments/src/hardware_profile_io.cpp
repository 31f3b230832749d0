#include "cachegen/experiments/hardware_profile_io.h"

#include <filesystem>

#include "cachegen/core/error.h"
#include "cachegen/core/yaml_config.h"
#include "cachegen/experiments/gpu_decode_rates.h"

namespace cachegen {

std::string profile_relative_path(const std::string& profile_path, const std::string& path) {
  if (path.empty() || std::filesystem::path(path).is_absolute())
    return path;
  return (std::filesystem::path(profile_path).parent_path() / path).lexically_normal().string();
}

ProfiledModel load_hardware_profile(const std::string& path) {
  YAML::Node root = load_yaml_file(path);
  YamlMap top(root, "", path);
  ProfiledModel out;
  out.profile.name = top.require<std::string>("name");
  out.profile.source = path;
  YamlMap model(top.child("model"), "model", path);
  out.model_name = model.require<std::string>("name");
  out.kv_shape.layers = static_cast<int64_t>(model.require_number("layers", 1, 1000));
  out.hidden_size = static_cast<int64_t>(model.require_number("hidden_size", 1, 1e6));
  out.kv_shape.kv_heads = static_cast<int64_t>(model.require_number("kv_heads", 1, 1000));
  out.kv_shape.head_dim = static_cast<int64_t>(model.require_number("head_dim", 1, 4096));
  out.parameters = model.require_number("parameters", 1, 1e14);
  model.finish();
  YamlMap gpu(top.child("gpu"), "gpu", path);
  gpu.require<std::string>("name");
  gpu.get_number("count", 1, 1, 1024);  // layers split over GPUs that run in turn: one GPU's rate
  out.profile.prefill_efficiency = gpu.get_number("utilisation", 0.5, 1e-3, 1);
  const double flops =
      1e12 * gpu.require_number("fp16_tflops", 1e-3, 1e6) * out.profile.prefill_efficiency;
  out.profile.prefill_fixed_s = 1e-3 * gpu.get_number("prefill_fixed_ms", 0, 0, 1e6);
  out.profile.decode_fixed_s = 1e-3 * gpu.get_number("decode_fixed_ms", 0, 0, 1e6);
  out.profile.decode_bytes_per_s = 1e9 * gpu.require_number("decode_gbps", 1e-6, 1e6);
  // Per-codec measured costs: the CUDA codec's benchmark output (a relative path is from the
  // profile's directory).
  out.profile.decode_rates_source =
      profile_relative_path(path, gpu.get<std::string>("decode_rates", ""));
  out.profile.decode_device_scale = gpu.get_number("decode_rates_scale", 1, 1e-3, 1e3);
  if (!out.profile.decode_rates_source.empty()) {
    try {
      out.profile.codec_decode = read_gpu_decode_rates(out.profile.decode_rates_source);
    } catch (const Error& e) {
      fail(path, ": key 'gpu.decode_rates': ", e.what());
    }
  }
  gpu.finish();
  top.finish();
  // 2 FLOPs per parameter per token; attention: 4 * hidden FLOPs per layer per token pair.
  out.profile.prefill_per_token_s = 2 * out.parameters / flops;
  out.profile.prefill_per_token_context_s =
      4.0 * static_cast<double>(out.kv_shape.layers * out.hidden_size) / flops;
  out.profile.validate();
  return out;
}

}  // namespace cachegen
