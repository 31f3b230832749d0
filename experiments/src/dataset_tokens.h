// Token helpers shared by the datasets (experiments/src/datasets/).
#pragma once

#include <cstdint>
#include <vector>

#include "cachegen/core/error.h"
#include "cachegen/core/language_model.h"
#include "cachegen/core/options.h"

namespace cachegen {

inline std::vector<int32_t> with_bos(const TextTokenizer& tokenizer, std::vector<int32_t> ids) {
  if (tokenizer.bos_id() >= 0)
    ids.insert(ids.begin(), tokenizer.bos_id());
  return ids;
}

// Keeps the first and last halves of `ids` when it is longer than `limit` (LongBench).
inline std::vector<int32_t> cut_middle(std::vector<int32_t> ids, int64_t limit) {
  if (static_cast<int64_t>(ids.size()) <= limit)
    return ids;
  const auto head = static_cast<size_t>(limit / 2), tail = static_cast<size_t>(limit) - head;
  std::vector<int32_t> out(ids.begin(), ids.begin() + static_cast<long>(head));
  out.insert(out.end(), ids.end() - static_cast<long>(tail), ids.end());
  return out;
}

// PluginInfo::check of the file datasets: `path` must be given.
inline void require_path(const Options& options) {
  if (options.text("path").empty())
    fail(options.context(), ": needs path=FILE");
}

}  // namespace cachegen
