#include "cachegen/core/cpu_level.h"

#include <cstdlib>
#include <string>

#include "cachegen/core/error.h"

namespace cachegen {

namespace {
CpuLevel parse_cap() {
  const char* value = std::getenv("CACHEGEN_CPU_LEVEL");
  if (value == nullptr || *value == '\0')
    return CpuLevel::kAvx512;
  const std::string name = value;
  if (name == "avx512")
    return CpuLevel::kAvx512;
  if (name == "avx2")
    return CpuLevel::kAvx2;
  if (name == "scalar")
    return CpuLevel::kScalar;
  fail("environment variable CACHEGEN_CPU_LEVEL is '", name,
       "'; it takes scalar, avx2 or avx512 (unset: no cap)");
}
}  // namespace

CpuLevel cpu_level_cap() {
  static const CpuLevel cap = parse_cap();
  return cap;
}

bool cpu_level_allowed(CpuLevel level) {
  return static_cast<int>(level) <= static_cast<int>(cpu_level_cap());
}

}  // namespace cachegen
