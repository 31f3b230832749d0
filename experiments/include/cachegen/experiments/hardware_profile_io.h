// Hardware profiles from YAML (configs/hardware/*.yaml; the format is in its README.md): a
// model's shape and a GPU's numbers, turned into core's HardwareProfile cost model.
#pragma once

#include <string>

#include "cachegen/core/kv_cache.h"
#include "cachegen/stream/compute_model.h"

namespace cachegen {

struct ProfiledModel {
  HardwareProfile profile;
  std::string model_name;
  KVShape kv_shape;  // the model's KV per context (tokens = 0: set per context)
  int64_t hidden_size = 0;
  double parameters = 0;
};

// Fails naming the file, line and key of a missing, mistyped, out-of-range or unknown key.
ProfiledModel load_hardware_profile(const std::string& path);

// A path that a profile names (gpu.decode_rates): a relative one is taken from the profile
// file's directory, so that a profile reads the same file from any working directory.
std::string profile_relative_path(const std::string& profile_path, const std::string& path);

}  // namespace cachegen
