// The streaming engine's experiment side: hardware profiles, encoding specs, and `cachegen stream`
// end to end.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "cachegen/core/error.h"
#include "cachegen/core/kv_io.h"
#include "cachegen/core/tiled_kv.h"
#include "cachegen/experiments/hardware_profile_io.h"
#include "cachegen/experiments/stream_setup.h"
#include "error_of.h"
#include "run_cli.h"

namespace cachegen {
namespace {

const std::string kSource = CACHEGEN_SOURCE_DIR;

std::string write_file(const std::string& name, const std::string& text) {
  std::string path = ::testing::TempDir() + "/stream_" + std::to_string(getpid()) + "_" + name;
  std::ofstream(path) << text;
  return path;
}

const char kTinyProfile[] = R"(name: tiny
model:
  name: tiny
  layers: 2
  hidden_size: 128
  kv_heads: 2
  head_dim: 64
  parameters: 1.0e6
gpu:
  name: test
  fp16_tflops: 1
  utilisation: 0.5
  prefill_fixed_ms: 1
  decode_gbps: 1
)";

TEST(HardwareProfile, ShippedProfilesLoadAndPriceAPaperContext) {
  // Mistral-7B, 9.4K tokens (the paper's LongChat contexts): ~2 s of prefill on an A40 at half
  // of peak, about 6.6x less on an H100; a 70B model ~10x the 7B one.
  ProfiledModel a40 = load_hardware_profile(kSource + "/configs/hardware/mistral-7b-a40.yaml");
  ProfiledModel h100 = load_hardware_profile(kSource + "/configs/hardware/mistral-7b-h100.yaml");
  ProfiledModel big = load_hardware_profile(kSource + "/configs/hardware/llama2-70b-a40.yaml");
  load_hardware_profile(kSource + "/configs/hardware/llama2-70b-h100.yaml");
  const double a40_s = a40.profile.prefill_seconds(9400, 0);
  EXPECT_GT(a40_s, 1.5);
  EXPECT_LT(a40_s, 3.0);
  EXPECT_NEAR(a40_s / h100.profile.prefill_seconds(9400, 0), 6.6, 0.3);
  EXPECT_GT(big.profile.prefill_seconds(9400, 0) / a40_s, 8);
  EXPECT_EQ(a40.kv_shape.layers, 32);
  EXPECT_EQ(a40.kv_shape.channels(), 1024);
  EXPECT_EQ(big.kv_shape.layers, 80);
  // Hand check of the formula: 2 * 1e6 FLOPs per token + 4 * 2 * 128 per token pair, at 0.5 TF/s.
  ProfiledModel tiny = load_hardware_profile(write_file("tiny.yaml", kTinyProfile));
  EXPECT_NEAR(tiny.profile.prefill_seconds(100, 50),
              1e-3 + 100 * (2e6 + 1024.0 * (50 + 50)) / 0.5e12, 1e-15);
  EXPECT_NEAR(tiny.profile.decode_seconds(1000000), 1e-3, 1e-15);
}

TEST(HardwareProfile, ErrorsNameTheFileLineAndKey) {
  std::string text = kTinyProfile;
  std::string unknown = write_file("unknown.yaml", text + "  turbo: 3\n");
  EXPECT_NE(error_of([&] {
              load_hardware_profile(unknown);
            }).find(unknown + " line 15: unknown key 'gpu.turbo'; valid: count, decode_fixed_ms"),
            std::string::npos);
  std::string missing = text;
  missing.replace(missing.find("  layers: 2\n"), 12, "");
  std::string path = write_file("missing.yaml", missing);
  EXPECT_NE(error_of([&] { load_hardware_profile(path); }).find("missing key 'model.layers'"),
            std::string::npos);
  std::string wrong = text;
  wrong.replace(wrong.find("decode_gbps: 1"), 14, "decode_gbps: fast");
  path = write_file("wrong.yaml", wrong);
  EXPECT_NE(error_of([&] {
              load_hardware_profile(path);
            }).find("line 14: key 'gpu.decode_gbps' has the wrong type"),
            std::string::npos);
  std::string negative = text;
  negative.replace(negative.find("utilisation: 0.5"), 16, "utilisation: 2");
  path = write_file("range.yaml", negative);
  EXPECT_NE(error_of([&] { load_hardware_profile(path); }).find("out of range"), std::string::npos);
  EXPECT_NE(error_of([&] { load_hardware_profile("/nonexistent.yaml"); }).find("no such file"),
            std::string::npos);
}

TEST(EncodingSpec, ParsesAndRejects) {
  EncodingSpec spec = parse_encoding_spec("cg2=cachegen:level=2;coder=ac");
  EXPECT_EQ(spec.name, "cg2");
  EXPECT_EQ(spec.codec, "cachegen");
  EXPECT_EQ(spec.options, "level=2;coder=ac");
  EXPECT_EQ(format_encoding_spec(spec), "cg2=cachegen:level=2;coder=ac");
  EXPECT_EQ(parse_encoding_spec("q=quant").options, "");
  EXPECT_THROW(parse_encoding_spec("cachegen"), Error);
  EXPECT_THROW(parse_encoding_spec("x="), Error);
  EXPECT_NE(error_of([] {
              make_store_encodings({parse_encoding_spec("x=zip")}, 1);
            }).find("encoding 'x': unknown codec 'zip'"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              make_store_encodings({parse_encoding_spec("x=quant:bits=12")}, 1);
            }).find("encoding 'x'"),
            std::string::npos);
}

// "synthetic:kv=FILE": a real model's KV from a file, tiled to the profile's shape.
TEST(SyntheticModel, TilesAKvFileToTheProfileShape) {
  KVCache source({3, 40, 1, 8}, DType::kF32);
  std::vector<float> row(8);
  for (int64_t l = 0; l < 3; ++l)
    for (int kind = 0; kind < 2; ++kind)
      for (int64_t t = 0; t < 40; ++t) {
        for (int c = 0; c < 8; ++c)
          row[static_cast<size_t>(c)] = static_cast<float>(l * 100 + kind * 50 + t + c) / 64;
        source.store_row(l, kind, t, row.data());
      }
  const std::string path = write_file("source.safetensors", "");
  save_kv(path, source);
  const ModelSpec spec = parse_model_spec("synthetic:kv=" + path);
  EXPECT_TRUE(spec.synthetic());
  check_model_spec(spec);
  const KVShape shape{4, 64, 2, 8};
  for (uint64_t seed : {1, 2}) {
    const StreamContext context = synthetic_context(spec, shape, seed, 32);
    const KVCache expected =
        tile_kv(source, shape, static_cast<int64_t>(seed - 1) * 1536, DType::kF16);
    ASSERT_EQ(context.kv.shape(), shape);
    EXPECT_EQ(context.kv.dtype(), DType::kF16);
    EXPECT_EQ(std::vector<uint8_t>(context.kv.data(), context.kv.data() + context.kv.byte_size()),
              std::vector<uint8_t>(expected.data(), expected.data() + expected.byte_size()));
    EXPECT_EQ(context.question_tokens, 32);
  }
  // Plain "synthetic" is still the generator.
  EXPECT_EQ(synthetic_context(parse_model_spec("synthetic"), shape, 3, 8).kv.byte_size(),
            synthetic_context(shape, 3, 8).kv.byte_size());
  EXPECT_NE(error_of([&] {
              check_model_spec(parse_model_spec("synthetic:kvv=" + path));
            }).find("did you mean 'kv'"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              check_model_spec(parse_model_spec("synthetic:kv=/nonexistent.st"));
            }).find("/nonexistent.st"),
            std::string::npos);
}

TEST(StreamCli, SyntheticContextWithProfiledTiming) {
  std::string profile = write_file("cli_tiny.yaml", kTinyProfile);
  CliResult r = run_cli("stream --synthetic --hardware " + profile +
                        " --context-tokens 600 --chunk-tokens 256 --net bandwidth_gbps=0.1 "
                        "--net rtt_ms=2 --slo-s 0.5 --controller cachegen --json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto j = nlohmann::json::parse(r.output);
  ASSERT_EQ(j["chunks"].size(), 3u);
  EXPECT_EQ(j["timing"], "profile");
  const double sum = j["decode_s"].get<double>() + j["recompute_s"].get<double>() +
                     j["prefill_s"].get<double>() + j["waiting_s"].get<double>();
  EXPECT_NEAR(j["ttft_s"].get<double>(), sum, 1e-12);
  EXPECT_EQ(j["slo_met"].get<bool>(), j["ttft_s"].get<double>() <= 0.5);
  // The last chunk ends the transfers.
  EXPECT_LE(j["chunks"][2]["arrival_s"].get<double>(), j["ttft_s"].get<double>());

  CliResult bad =
      run_cli("stream --synthetic --hardware " + profile + " --controller fixed:encoding=cg7");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output.find("no encoding 'cg7'; its encodings: quant8, cg3, cg2, cg1"),
            std::string::npos)
      << bad.output;
  CliResult zero = run_cli("stream --synthetic --hardware " + profile + " --slo-s 0");
  EXPECT_NE(zero.exit_code, 0);
  EXPECT_NE(zero.output.find("SLO must be positive"), std::string::npos) << zero.output;
  CliResult measured = run_cli("stream --synthetic --hardware " + profile + " --timing measured");
  EXPECT_NE(measured.output.find("needs a model"), std::string::npos) << measured.output;
}

}  // namespace
}  // namespace cachegen
