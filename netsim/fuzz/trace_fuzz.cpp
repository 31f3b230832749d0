// libFuzzer target: the bandwidth trace loaders (CSV and Mahimahi). Malformed input must raise
// cachegen::Error; what loads must be a valid trace that the fluid model can replay.
#include <cstddef>
#include <cstdint>
#include <string>

#include "cachegen/core/error.h"
#include "cachegen/netsim/trace_io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  for (int format = 0; format < 2; ++format) {
    try {
      cachegen::BandwidthTrace trace = format == 0
                                           ? cachegen::parse_csv_trace(text, "fuzz")
                                           : cachegen::parse_mahimahi_trace(text, "fuzz", 10);
      // A loaded trace answers time queries.
      (void)trace.time_to_send(1e6, 0.5);
      (void)cachegen::format_csv_trace(trace);
    } catch (const cachegen::Error&) {
    }
  }
  return 0;
}
