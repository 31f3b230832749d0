// The message of the cachegen::Error that `f` throws, or "no error": for tests that check what an
// error names.
#pragma once

#include <functional>
#include <string>

#include "cachegen/core/error.h"

namespace cachegen {

inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace cachegen
