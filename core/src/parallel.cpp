#include "cachegen/core/parallel.h"

#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace cachegen {

int hardware_threads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

void parallel_for(int64_t count, int threads, const std::function<void(int64_t)>& body) {
  if (threads <= 0)
    threads = hardware_threads();
  if (threads == 1 || count <= 1) {
    for (int64_t i = 0; i < count; ++i)
      body(i);
    return;
  }
  int workers = static_cast<int>(std::min<int64_t>(threads, count));
  std::atomic<int64_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto work = [&] {
    for (;;) {
      int64_t i = next.fetch_add(1);
      if (i >= count)
        return;
      try {
        body(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error)
          error = std::current_exception();
        next.store(count);  // stop handing out work
      }
    }
  };
  std::vector<std::thread> pool;
  for (int w = 1; w < workers; ++w)
    pool.emplace_back(work);
  work();
  for (auto& t : pool)
    t.join();
  if (error)
    std::rethrow_exception(error);
}

}  // namespace cachegen
