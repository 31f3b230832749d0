// libFuzzer target: the kvtc calibration reader (`cachegen calibrate` files, which
// `kvtc:calibration=FILE` and decoding by calibration id load). Malformed input must raise
// cachegen::Error; what parses must serialize back to the same bytes.
// Seeds: codec/fuzz/corpus/kvtc_calibration/.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "cachegen/codec/kvtc_calibration.h"
#include "cachegen/core/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<uint8_t> bytes(data, data + size);
  try {
    const cachegen::KvtcCalibration calibration = cachegen::KvtcCalibration::parse(bytes, "fuzz");
    if (calibration.serialize() != bytes)
      __builtin_trap();
  } catch (const cachegen::Error&) {
  }
  return 0;
}
