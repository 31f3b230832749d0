// Typed options against their schema, and the registry's checks, errors and suggestions.
#include "cachegen/core/options.h"

#include <gtest/gtest.h>

#include "cachegen/core/error.h"
#include "cachegen/core/registry.h"

namespace cachegen {
namespace {

const OptionSchema kSchema = {
    integer_option("bits", 8, 2, 8, "bits"),
    bool_option("delta", false, "anchor/delta"),
    integer_list_option("bins", "", 2, 256, "bins per layer"),
    choice_option("coder", "ac", {"ac", "rans"}, "coder"),
    number_option("rate", 0.5, 0, 1, "a rate"),
    text_option("label", "none", "free text"),
};

std::string error_of(const std::string& text) {
  try {
    Options::parse(text, "codec 'test'").validate(kSchema);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(Options, ReadsTypedValuesAndRoundTrips) {
  Options o = Options::parse("bits=4;delta=on;bins=32,16,16;coder=rans", "test");
  o.validate(kSchema);
  EXPECT_EQ(o.integer("bits"), 4);
  EXPECT_TRUE(o.flag("delta"));
  EXPECT_EQ(o.integers("bins"), (std::vector<int64_t>{32, 16, 16}));
  EXPECT_EQ(o.text("coder"), "rans");
  EXPECT_EQ(format_options(o.values()), "bins=32,16,16;bits=4;coder=rans;delta=on");
}

TEST(Options, AbsentKeysTakeTheDeclaredDefault) {
  Options o;
  o.validate(kSchema);
  EXPECT_EQ(o.integer("bits"), 8);
  EXPECT_FALSE(o.flag("delta"));
  EXPECT_TRUE(o.integers("bins").empty());
  EXPECT_EQ(o.text("coder"), "ac");
  EXPECT_DOUBLE_EQ(o.number("rate"), 0.5);
  EXPECT_EQ(o.value_text("label"), "none");
  EXPECT_FALSE(o.has("bits"));
}

TEST(Options, UnknownKeysSuggestTheClosestAndListTheValidOnes) {
  EXPECT_EQ(error_of("bitz=4"),
            "codec 'test': unknown option 'bitz' (did you mean 'bits'?); valid: bits, delta, "
            "bins, coder, rate, label");
  EXPECT_EQ(error_of("zzzzzz=1").find("did you mean"), std::string::npos);
  EXPECT_NE(error_of("rat=1").find("did you mean 'rate'"), std::string::npos);  // a prefix
}

TEST(Options, TypesAndRangesAreChecked) {
  EXPECT_EQ(error_of("bits=9"), "codec 'test': option 'bits'='9' is outside [2, 8]");
  EXPECT_NE(error_of("bits=four").find("is not an integer"), std::string::npos);
  EXPECT_NE(error_of("delta=maybe").find("is not a boolean"), std::string::npos);
  EXPECT_NE(error_of("coder=zip").find("valid: ac, rans"), std::string::npos);
  EXPECT_NE(error_of("rate=1.5").find("outside [0, 1]"), std::string::npos);
  EXPECT_NE(error_of("bins=32,x").find("'x', which is not an integer"), std::string::npos);
  EXPECT_NE(error_of("bins=32,1").find("has 1, outside [2, 256]"), std::string::npos);
  EXPECT_THROW(Options::parse("novalue", "c"), Error);
}

TEST(Options, ReadingAnUndeclaredOrMistypedOptionIsAnError) {
  Options o;
  o.validate(kSchema);
  EXPECT_THROW(o.integer("nope"), Error);
  EXPECT_THROW(o.integer("coder"), Error);
  EXPECT_THROW(o.flag("bits"), Error);
}

TEST(Options, FilesMustExist) {
  const OptionSchema schema{file_option("profile", "a file")};
  Options missing = Options::parse("profile=/no/such/file", "test");
  EXPECT_THROW(missing.validate(schema), Error);
  Options none;
  none.validate(schema);
  EXPECT_EQ(none.text("profile"), "");
}

TEST(Registry, CreatesByNameWithValidatedOptions) {
  Registry<int> registry("thing");
  registry.add({"b", "", {integer_option("n", 2, 0, 9, "n")}}, [](const Options& o) {
    return std::make_unique<int>(static_cast<int>(o.integer("n")));
  });
  registry.add({"a", "", {}}, [](const Options&) { return std::make_unique<int>(1); });
  EXPECT_EQ(*registry.create("b", Options()), 2);
  EXPECT_EQ(*registry.create("b", Options::parse("n=7", "t")), 7);
  EXPECT_EQ(registry.names(), (std::vector<std::string>{"a", "b"}));
  try {
    registry.create("c", Options());
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "unknown thing 'c'; valid: a, b");
  }
  try {
    registry.create("b", Options::parse("n=10", "t"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "thing 'b': option 'n'='10' is outside [0, 9]");
  }
  try {
    registry.create("a", Options::parse("n=1", "t"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "thing 'a': takes no options, got 'n'");
  }
  EXPECT_THROW(registry.add({"a", "", {}}, [](const Options&) { return std::make_unique<int>(3); }),
               Error);
}

TEST(Registry, ChecksRunAfterTheSchemaAndRegistriesAreListed) {
  Registry<int> registry("gadget");
  registry.add({"x",
                "",
                {integer_option("lo", 0, 0, 9, ""), integer_option("hi", 9, 0, 9, "")},
                [](const Options& o) {
                  if (o.integer("lo") > o.integer("hi"))
                    fail(o.context(), ": lo > hi");
                }},
               [](const Options&) { return std::make_unique<int>(0); });
  EXPECT_THROW(registry.create("x", Options::parse("lo=5;hi=4", "t")), Error);
  EXPECT_EQ(*registry.create("x", Options::parse("lo=4;hi=5", "t")), 0);
  bool listed = false;
  for (const RegistryBase* r : registry_directory())
    listed |= r == &registry;
  EXPECT_TRUE(listed);
}

TEST(Options, ClosestName) {
  EXPECT_EQ(closest_name("bandwith_gbps", {"bandwidth_gbps", "rtt_ms"}), "bandwidth_gbps");
  EXPECT_EQ(closest_name("xyz", {"bandwidth_gbps", "rtt_ms"}), "");
}

}  // namespace
}  // namespace cachegen
