#include "cachegen/core/build_info.h"

#include "cachegen_build_revision.h"  // generated into the build tree

namespace cachegen {

const BuildInfo& build_info() {
  static const BuildInfo info = [] {
    BuildInfo b;
    b.revision = CACHEGEN_BUILD_REVISION;
    b.dirty = CACHEGEN_BUILD_DIRTY != 0;
#if defined(__clang__)
    b.compiler = "clang " __clang_version__;
#elif defined(__GNUC__)
    b.compiler = "gcc " __VERSION__;
#else
    b.compiler = "unknown";
#endif
    return b;
  }();
  return info;
}

std::string build_revision_label() {
  return build_info().revision + (build_info().dirty ? "+dirty" : "");
}

}  // namespace cachegen
