// Which build this is, for the provenance of every result: the git revision of the sources at
// build time (not configure time: cmake/write_build_revision.cmake runs on every build), whether
// tracked sources differed from it, and the compiler.
#pragma once

#include <string>

namespace cachegen {

struct BuildInfo {
  std::string revision;  // 12 hex digits, or "unknown" outside a git checkout
  bool dirty = true;     // tracked sources (results/ aside) differed from the revision
  std::string compiler;  // e.g. "gcc 12.2.0"
};

const BuildInfo& build_info();
// "<revision>", or "<revision>+dirty": the `revision` column of runs.csv.
std::string build_revision_label();

}  // namespace cachegen
