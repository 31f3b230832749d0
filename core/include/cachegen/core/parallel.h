// Minimal deterministic parallel-for: work items are independent and write to fixed places, so
// results never depend on the thread count.
#pragma once

#include <cstdint>
#include <functional>

namespace cachegen {

// Number of hardware threads (at least 1).
int hardware_threads();

// Runs body(i) for i in [0, count) on up to `threads` threads (0 = hardware_threads()).
// Items are handed out dynamically; the first exception thrown is rethrown after all finish.
void parallel_for(int64_t count, int threads, const std::function<void(int64_t)>& body);

}  // namespace cachegen
