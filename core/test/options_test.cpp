#include "cachegen/core/options.h"

#include <gtest/gtest.h>

#include "cachegen/core/error.h"
#include "cachegen/core/registry.h"

namespace cachegen {

TEST(Options, ParsesTypedValuesAndRoundTrips) {
  Options o = Options::parse("bits=4;delta=on;bins=32,16,16;coder=rans", "test");
  EXPECT_EQ(o.get_int("bits", 8, 2, 8), 4);
  EXPECT_TRUE(o.get_bool("delta", false));
  EXPECT_EQ(o.get_int_list("bins", {}, 2, 256), (std::vector<int64_t>{32, 16, 16}));
  EXPECT_EQ(o.get_choice("coder", "ac", {"ac", "rans"}), "rans");
  o.finish();
  EXPECT_EQ(format_options(o.values()), "bins=32,16,16;bits=4;coder=rans;delta=on");
}

TEST(Options, RejectsUnknownKeysAndListsValidOnes) {
  Options o = Options::parse("bitz=4", "codec 'quant'");
  o.get_int("bits", 8, 2, 8);
  try {
    o.finish();
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown option 'bitz'; valid: bits"), std::string::npos);
  }
}

TEST(Options, RejectsOutOfRangeAndBadTypes) {
  Options o = Options::parse("bits=9;delta=maybe;coder=zip", "c");
  EXPECT_THROW(o.get_int("bits", 8, 2, 8), Error);
  EXPECT_THROW(o.get_bool("delta", false), Error);
  EXPECT_THROW(o.get_choice("coder", "ac", {"ac", "rans"}), Error);
  EXPECT_THROW(Options::parse("novalue", "c"), Error);
}

TEST(Registry, UnknownNameListsValidNames) {
  Registry<int> registry("thing");
  registry.add("b", "", [] { return std::make_unique<int>(2); });
  registry.add("a", "", [] { return std::make_unique<int>(1); });
  EXPECT_EQ(*registry.create("b"), 2);
  try {
    registry.create("c");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown thing 'c'; valid names: a, b"),
              std::string::npos);
  }
}

}  // namespace cachegen
