// Per-codec GPU decode costs from the CUDA codec's benchmark file, and the hardware profile's
// sensitivity settings.
#include "cachegen/experiments/gpu_decode_rates.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "cachegen/codec/registry.h"
#include "cachegen/core/error.h"
#include "cachegen/experiments/hardware_profile_io.h"
#include "error_of.h"

namespace cachegen {
namespace {

const std::string kSource = CACHEGEN_SOURCE_DIR;
const std::string kBench = kSource + "/results/gpu/gpu_codec_bench.md";

std::string write_file(const std::string& name, const std::string& text) {
  std::string path = ::testing::TempDir() + "/rates_" + std::to_string(getpid()) + "_" + name;
  std::ofstream(path) << text;
  return path;
}

std::unique_ptr<Codec> codec(const std::string& name, const std::string& options) {
  return make_codec(name, Options::parse(options, name), CodecContext{});
}

const char kHeader[] =
    "context: 8192 tokens in 6 chunks of 1536, 1000.0 MB of f16 KV\n\n"
    "| codec | bits/element | decode GB/s (device) | decode GB/s (with H2D copy) | host parse ms "
    "|\n|---|---|---|---|---|\n";

TEST(GpuDecodeRates, ReadsTheCommittedBenchmarkAndPricesEachCodec) {
  const std::vector<CodecDecodeCost> rates = read_gpu_decode_rates(kBench);
  ASSERT_EQ(rates.size(), 8u);
  HardwareProfile profile;
  profile.name = "test";
  profile.decode_fixed_s = 1e-4;
  profile.decode_bytes_per_s = 50e9;
  profile.codec_decode = rates;
  const uint64_t bytes = 200'000'000;  // fp16 KV of a chunk
  // The file's numbers, typed here as the independent check: device GB/s, with the upload GB/s,
  // parse ms of the 1073.7 MB context.
  auto expected = [&](double device, double with_upload, double parse_ms) {
    const double device_s = 1 / (device * 1e9), upload_s = 1 / (with_upload * 1e9) - device_s;
    return 1e-4 + bytes * (device_s + upload_s + parse_ms * 1e-3 / 1073.7e6);
  };
  const auto cg2 = codec("cachegen", "level=2");
  EXPECT_NEAR(profile.decode_seconds(bytes, cg2.get()), expected(202, 133, 20.7), 1e-12);
  const auto delta = codec("cachegen", "level=2;delta=on");
  EXPECT_NEAR(profile.decode_seconds(bytes, delta.get()), expected(59, 37, 204.4), 1e-12);
  const auto quant8 = codec("quant", "bits=8");
  EXPECT_NEAR(profile.decode_seconds(bytes, quant8.get()), expected(360, 84, 178.9), 1e-12);
  const auto kivi = codec("kivi", "bits=2");
  EXPECT_NEAR(profile.decode_seconds(bytes, kivi.get()), expected(262, 116, 210.8), 1e-12);
  // A codec the benchmark did not measure (another coder, identity) takes the profile's rate.
  for (const auto& other : {codec("cachegen", "level=2;coder=ac"), codec("identity", "")}) {
    EXPECT_EQ(profile.decode_cost(*other), nullptr) << other->params();
    EXPECT_NEAR(profile.decode_seconds(bytes, other.get()), 1e-4 + bytes / 50e9, 1e-12);
  }
  // The offline-profile row stands for cachegen with any profile: its parameters say so.
  const auto offline = std::find_if(rates.begin(), rates.end(), [](const CodecDecodeCost& r) {
    return r.label == "cachegen:level=2;tables=profile";
  });
  ASSERT_NE(offline, rates.end());
  EXPECT_EQ(offline->params.at("tables"), "profile");
  EXPECT_EQ(offline->params.count("profile_id"), 0u);
  // A slower GPU scales the device part only.
  profile.decode_device_scale = 0.5;
  EXPECT_NEAR(profile.decode_seconds(bytes, cg2.get()),
              expected(202, 133, 20.7) + bytes / 101e9 - bytes / 202e9, 1e-12);
}

TEST(GpuDecodeRates, BadFilesNameTheLine) {
  const std::string good =
      std::string(kHeader) + "| cachegen:level=2 | 2.06 | 202 | 133 | 20.7 |\n";
  EXPECT_EQ(read_gpu_decode_rates(write_file("good.md", good)).size(), 1u);
  struct Case {
    std::string text, expected;
  };
  const std::vector<Case> cases = {
      {std::string(kHeader) + "| zstd:level=2 | 2 | 202 | 133 | 20.7 |\n", ":5: "},
      {std::string(kHeader) + "| cachegen:levle=2 | 2 | 202 | 133 | 20.7 |\n", "levle"},
      {std::string(kHeader) + "| cachegen:level=2 | 2 | 202 | fast | 20.7 |\n",
       ":5: 'fast' is not a positive number"},
      {std::string(kHeader) + "| cachegen:level=2 | 2 | 202 | 303 | 20.7 |\n",
       "is faster than without it"},
      {std::string(kHeader) + "| cachegen:level=2 | 2 | 202 | 133 |\n", ":5: a row with 4 cells"},
      {std::string(kHeader) + "| cachegen:level=2 | 2 | 202 | 133 | 20.7 |\n" +
           "| cachegen:level=2;coder=rans | 2 | 202 | 133 | 20.7 |\n",
       ":6: codec 'cachegen:level=2;coder=rans' is the same codec as 'cachegen:level=2'"},
      {std::string(kHeader) + "| cachegen:level=2;profile=/dev/zero | 2 | 202 | 133 | 20.7 |\n",
       ":5: codec 'cachegen': a decode-rate row cannot name a file (option 'profile')"},
      {"| codec | decode GB/s (device) |\n", ":1: the table needs columns"},
      {"| codec | decode GB/s (device) | decode GB/s (with H2D copy) | host parse ms |\n",
       "must come before the table"},
      {"context: 1 tokens, lots MB of f16 KV\n", ":1: 'lots' is not a positive number"},
      {"nothing here\n", "no codec rows"},
  };
  for (const Case& c : cases) {
    const std::string path = write_file("bad.md", c.text);
    const std::string error = error_of([&] { read_gpu_decode_rates(path); });
    EXPECT_NE(error.find(path), std::string::npos) << error;
    EXPECT_NE(error.find(c.expected), std::string::npos) << error;
  }
}

const char kProfile[] = R"(name: tiny
model: {name: tiny, layers: 2, hidden_size: 128, kv_heads: 2, head_dim: 64, parameters: 1.0e6}
gpu:
  name: test
  fp16_tflops: 1
  utilisation: 0.5
  decode_gbps: 1
)";

TEST(GpuDecodeRates, ProfilesReadTheFileAndSensitivityScalesTheirTimes) {
  ProfiledModel plain = load_hardware_profile(write_file("plain.yaml", kProfile));
  EXPECT_TRUE(plain.profile.codec_decode.empty());
  ProfiledModel measured = load_hardware_profile(write_file(
      "measured.yaml",
      std::string(kProfile) + "  decode_rates: " + kBench + "\n  decode_rates_scale: 0.5\n"));
  EXPECT_EQ(measured.profile.codec_decode.size(), 8u);
  EXPECT_EQ(measured.profile.decode_rates_source, kBench);
  EXPECT_EQ(measured.profile.decode_device_scale, 0.5);
  // A relative path is taken from the profile's directory, whatever the working directory.
  std::ifstream bench(kBench);
  const std::string copy =
      write_file("bench.md", std::string(std::istreambuf_iterator<char>(bench), {}));
  const std::string name = copy.substr(copy.rfind('/') + 1);
  ProfiledModel relative = load_hardware_profile(
      write_file("relative.yaml", std::string(kProfile) + "  decode_rates: " + name + "\n"));
  EXPECT_EQ(relative.profile.decode_rates_source,
            std::filesystem::path(copy).lexically_normal().string());
  EXPECT_EQ(relative.profile.codec_decode.size(), 8u);
  const std::string missing =
      write_file("missing.yaml", std::string(kProfile) + "  decode_rates: /nonexistent/bench.md\n");
  const std::string error = error_of([&] { load_hardware_profile(missing); });
  EXPECT_NE(error.find(missing + ": key 'gpu.decode_rates': "), std::string::npos) << error;
  EXPECT_NE(error.find("/nonexistent/bench.md"), std::string::npos) << error;

  // Prefill at 35% of peak instead of 50%: the per-token times grow by 50/35, the fixed cost
  // stays; decode times scale as asked.
  const HardwareProfile& base = measured.profile;
  const HardwareProfile slow = base.with_sensitivity(0.35, 1.5);
  const double fixed = base.prefill_fixed_s;
  EXPECT_NEAR(slow.prefill_seconds(1000, 500) - fixed,
              (base.prefill_seconds(1000, 500) - fixed) * 0.5 / 0.35, 1e-15);
  const auto cg2 = codec("cachegen", "level=2");
  EXPECT_NEAR(slow.decode_seconds(1'000'000, cg2.get()),
              1.5 * base.decode_seconds(1'000'000, cg2.get()), 1e-15);
  EXPECT_NEAR(slow.decode_seconds(1'000'000), 1.5 * base.decode_seconds(1'000'000), 1e-15);
  const HardwareProfile same = base.with_sensitivity(0, 1);
  EXPECT_EQ(same.prefill_seconds(1000, 500), base.prefill_seconds(1000, 500));
  EXPECT_NE(error_of([&] { base.with_sensitivity(0.35, 0); }).find("decode scales"),
            std::string::npos);
}

}  // namespace
}  // namespace cachegen
