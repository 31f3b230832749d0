#include "cachegen/core/build_info.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace cachegen {
namespace {

// The revision compiled in is a commit of the source tree this test runs in, on its current
// branch (HEAD or an ancestor: HEAD may have moved on since the build), and the label marks a
// dirty tree.
TEST(BuildInfo, RevisionIsACommitOfTheSourceTree) {
  const BuildInfo& info = build_info();
  const char* source = std::getenv("CACHEGEN_SOURCE_DIR");  // set by ctest
  const std::string git = std::string("git -C '") + (source ? source : ".") + "' ";
  if (std::system((git + "rev-parse HEAD > /dev/null 2>&1").c_str()) != 0) {
    EXPECT_EQ(info.revision, "unknown");  // no git checkout to compare with
  } else {
    ASSERT_EQ(info.revision.size(), 12u) << info.revision;
    EXPECT_EQ(info.revision.find_first_not_of("0123456789abcdef"), std::string::npos);
    EXPECT_EQ(std::system((git + "merge-base --is-ancestor " + info.revision + " HEAD").c_str()), 0)
        << info.revision << " is not HEAD or an ancestor of it";
  }
  EXPECT_EQ(build_revision_label(), info.revision + (info.dirty ? "+dirty" : ""));
  EXPECT_FALSE(info.compiler.empty());
}

}  // namespace
}  // namespace cachegen
