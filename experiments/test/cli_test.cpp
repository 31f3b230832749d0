// End-to-end runs of the `cachegen` binary: synth-kv -> encode -> inspect -> decode, and the
// errors a user sees for bad input.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cachegen/codec/registry.h"
#include "cachegen/core/byte_io.h"
#include "cachegen/core/codec.h"
#include "cachegen/core/kv_io.h"
#include "run_cli.h"

namespace cachegen {
namespace {

using Result = CliResult;
Result run(const std::string& arguments) {
  return run_cli(arguments);
}

std::string temp(const std::string& name) {
  return ::testing::TempDir() + "/cli_" + name;
}

TEST(Cli, EncodeInspectDecodeRoundTrip) {
  std::string kv = temp("kv.safetensors"), enc = temp("kv.cgkv"), out = temp("out.safetensors");
  ASSERT_EQ(
      run("synth-kv --layers 4 --tokens 300 --kv-heads 2 --head-dim 16 --out " + kv).exit_code, 0);
  Result e =
      run("encode --codec cachegen --level 2 --opt delta=on --opt coder=rans "
          "--chunk-tokens 128 " +
          kv + " " + enc);
  ASSERT_EQ(e.exit_code, 0) << e.output;
  Result i = run("inspect --json " + enc);
  ASSERT_EQ(i.exit_code, 0) << i.output;
  EXPECT_NE(i.output.find("\"token_offset\": 256"), std::string::npos) << i.output;
  EXPECT_NE(i.output.find("delta=on"), std::string::npos);
  Result d = run("decode " + enc + " " + out);
  ASSERT_EQ(d.exit_code, 0) << d.output;
  {  // What the command wrote is what the library decodes from the same file, bit for bit.
    const KVCache written = load_kv(out);
    const KVCache expected = decode_file(read_file(enc), enc, CodecContext{});
    ASSERT_EQ(written.shape(), load_kv(kv).shape());
    ASSERT_EQ(written.byte_size(), expected.byte_size());
    EXPECT_EQ(written.dtype(), expected.dtype());
    EXPECT_EQ(std::memcmp(written.data(), expected.data(), expected.byte_size()), 0);
  }

  Result identity = run("encode --codec identity " + kv + " " + enc);
  ASSERT_EQ(identity.exit_code, 0) << identity.output;
  ASSERT_EQ(run("decode " + enc + " " + out).exit_code, 0);
  KVCache x = load_kv(kv), y = load_kv(out);  // identity: the input, exactly
  ASSERT_EQ(x.shape(), y.shape());
  ASSERT_EQ(x.dtype(), y.dtype());
  EXPECT_EQ(std::memcmp(x.data(), y.data(), x.byte_size()), 0);
}

// Every kernel level (CACHEGEN_CPU_LEVEL) writes the same container bytes and decodes them to
// the same KV: the scalar loops, the AVX2 and the AVX-512 kernels (where the CPU has them) are
// interchangeable. A level the variable does not know is refused before any work.
TEST(Cli, EveryCpuLevelWritesAndDecodesTheSameBytes) {
  const std::string kv = temp("levels.safetensors");
  ASSERT_EQ(
      run("synth-kv --layers 3 --tokens 700 --kv-heads 4 --head-dim 32 --out " + kv).exit_code, 0);
  std::vector<uint8_t> reference_container, reference_kv;
  for (const char* level : {"scalar", "avx2", "avx512"}) {
    setenv("CACHEGEN_CPU_LEVEL", level, 1);
    const std::string enc = temp(std::string("levels-") + level + ".cgkv"),
                      out = temp(std::string("levels-") + level + ".safetensors");
    Result e = run("encode --codec cachegen --level 2 --chunk-tokens 512 " + kv + " " + enc);
    Result d = run("decode " + enc + " " + out);
    unsetenv("CACHEGEN_CPU_LEVEL");
    ASSERT_EQ(e.exit_code, 0) << level << ": " << e.output;
    ASSERT_EQ(d.exit_code, 0) << level << ": " << d.output;
    const std::vector<uint8_t> container = read_file(enc), decoded = read_file(out);
    if (reference_container.empty()) {
      reference_container = container;
      reference_kv = decoded;
      continue;
    }
    EXPECT_TRUE(std::equal(container.begin(), container.end(), reference_container.begin(),
                           reference_container.end()))
        << level;
    EXPECT_TRUE(
        std::equal(decoded.begin(), decoded.end(), reference_kv.begin(), reference_kv.end()))
        << level;
  }
  setenv("CACHEGEN_CPU_LEVEL", "avx1024", 1);
  Result bad = run("decode " + temp("levels-scalar.cgkv") + " " + temp("levels-bad.safetensors"));
  unsetenv("CACHEGEN_CPU_LEVEL");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.output.find("CACHEGEN_CPU_LEVEL is 'avx1024'; it takes scalar, avx2 or avx512"),
            std::string::npos)
      << bad.output;
}

#if CACHEGEN_WITH_KVTC && CACHEGEN_HAVE_TORCH
// calibrate -> kv -> encode (kvtc with the calibration) -> decode (finding it by id) on the
// built-in model: the calibration undoes the model's own RoPE, and the file is deterministic.
TEST(Cli, CalibrateThenEncodeAndDecodeWithKvtc) {
  const std::string text = temp("calibration.txt"), cal = temp("builtin.kvtc"),
                    again = temp("again.kvtc"), kv = temp("builtin.safetensors"),
                    enc = temp("kvtc.cgkv"), out = temp("kvtc.safetensors");
  {
    std::ofstream f(text);
    for (int i = 0; i < 40; ++i)
      f << "Line " << i << ": the quick brown fox jumps over the lazy dog near river " << i * 7
        << ".\n";
  }
  for (const std::string& file : {cal, again}) {
    Result c = run("calibrate --model builtin --threads 1 --window-tokens 128 --text " + text +
                   " --out " + file);
    ASSERT_EQ(c.exit_code, 0) << c.output;
    EXPECT_NE(c.output.find("rope=on"), std::string::npos) << c.output;
  }
  EXPECT_EQ(read_file(cal), read_file(again));
  ASSERT_EQ(run("kv --model builtin --threads 1 --text " + text + " --out " + kv).exit_code, 0);
  Result e = run("encode --codec kvtc --opt bits=3 --opt calibration=" + cal +
                 " --chunk-tokens 128 " + kv + " " + enc);
  ASSERT_EQ(e.exit_code, 0) << e.output;
  Result missing = run("decode " + enc + " " + out);
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.output.find("calibration"), std::string::npos) << missing.output;
  Result d = run("decode --profile " + cal + " " + enc + " " + out);
  ASSERT_EQ(d.exit_code, 0) << d.output;
  EXPECT_LT(kv_relative_error(load_kv(out), load_kv(kv)), 0.25);
}
#endif

TEST(Cli, BadInputGivesAClearErrorAndNoOutput) {
  std::string kv = temp("kv2.safetensors"), enc = temp("kv2.cgkv"), out = temp("never.safetensors");
  ASSERT_EQ(run("synth-kv --layers 2 --tokens 20 --kv-heads 1 --head-dim 8 --out " + kv).exit_code,
            0);
  Result unknown = run("encode --codec zip " + kv + " " + enc);
  EXPECT_EQ(unknown.exit_code, 1);
  // (this test binary links the same codecs as the command)
  EXPECT_NE(unknown.output.find("unknown codec 'zip'; valid: " + codec_registry().joined_names()),
            std::string::npos)
      << unknown.output;
  Result bad_opt = run("encode --codec quant --opt bits=9 " + kv + " " + enc);
  EXPECT_EQ(bad_opt.exit_code, 1);
  EXPECT_NE(bad_opt.output.find("codec 'quant': option 'bits'='9' is outside [2, 8]"),
            std::string::npos)
      << bad_opt.output;
  ASSERT_EQ(run("encode --codec quant " + kv + " " + enc).exit_code, 0);
  // Truncate the container: decode must fail, name the offset and write nothing.
  {
    std::ifstream in(enc, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(enc, std::ios::binary | std::ios::trunc) << bytes.substr(0, bytes.size() - 5);
  }
  std::remove(out.c_str());
  Result truncated = run("decode " + enc + " " + out);
  EXPECT_EQ(truncated.exit_code, 1);
  EXPECT_NE(truncated.output.find("truncated"), std::string::npos) << truncated.output;
  EXPECT_FALSE(std::ifstream(out).good());
  EXPECT_EQ(run("encode --bogus " + kv + " " + enc).exit_code, 1);
  EXPECT_EQ(run("nonsense").exit_code, 2);
}

TEST(Cli, NetsimPrintsChunkTimesAndTraceErrorsNameTheLine) {
  std::string trace = temp("trace.csv"), bad = temp("bad.csv");
  ASSERT_EQ(run("trace gen --kind uniform --low-gbps 0.5 --high-gbps 2 --interval-s 0.1 "
                "--duration-s 1 --seed 4 --out " +
                trace)
                .exit_code,
            0);
  Result fluid = run("netsim --backend fluid --net trace=" + trace +
                     " --net rtt_ms=2 --bytes 1000000,2000000 --json");
  ASSERT_EQ(fluid.exit_code, 0) << fluid.output;
  EXPECT_NE(fluid.output.find("\"done_s\""), std::string::npos);
  EXPECT_NE(fluid.output.find("\"goodput_gbps\""), std::string::npos);
  std::ofstream(bad) << "time_s,bandwidth_mbps\n0,100\n0.5,0\n";
  Result error = run("netsim --backend fluid --net trace=" + bad + " --net rtt_ms=2 --bytes 1000");
  EXPECT_EQ(error.exit_code, 1);
  EXPECT_NE(error.output.find(bad + " line 3: bandwidth must be positive"), std::string::npos)
      << error.output;
  Result unknown = run("netsim --backend carrier-pigeon --net bandwidth_gbps=1 --bytes 1");
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.output.find("unknown network model 'carrier-pigeon'; valid: fluid"),
            std::string::npos)
      << unknown.output;
}

// `cachegen list` prints every family from the registries, with each plug-in's options.
TEST(Cli, ListPrintsEveryFamilyFromTheRegistries) {
  Result listed = run("list --json");
  ASSERT_EQ(listed.exit_code, 0) << listed.output;
  auto json = nlohmann::json::parse(listed.output.substr(listed.output.find('{')));
  for (const char* family :
       {"codec", "network model", "controller", "language model", "dataset", "run"}) {
    EXPECT_TRUE(json.contains(family)) << family;
  }
  std::vector<std::string> codecs;
  for (const auto& codec : json["codec"]) {
    codecs.push_back(codec["name"]);
    if (codec["name"] == "quant") {
      EXPECT_EQ(codec["options"][0]["name"], "bits");
      EXPECT_EQ(codec["options"][0]["default"], "8");
      EXPECT_EQ(codec["options"][0]["type"], "integer in [2, 8]");
    }
  }
  EXPECT_EQ(codecs, codec_registry().names());
  Result text = run("list controller");
  EXPECT_NE(text.output.find("prior_mbps"), std::string::npos) << text.output;
  Result unknown = run("list codecs");
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.output.find("unknown family 'codecs' (did you mean 'codec'?)"),
            std::string::npos)
      << unknown.output;
}

// Unknown commands and flags name the closest valid one.
TEST(Cli, UnknownCommandsAndFlagsSuggestTheNearest) {
  Result command = run("encod");
  EXPECT_EQ(command.exit_code, 2);
  EXPECT_NE(command.output.find("unknown command 'encod' (did you mean 'encode'?); valid: "),
            std::string::npos)
      << command.output;
  Result flag = run("netsim --backend fluid --bytse 10");
  EXPECT_EQ(flag.exit_code, 1);
  EXPECT_NE(flag.output.find("unknown flag '--bytse' (did you mean '--bytes'?)"), std::string::npos)
      << flag.output;
}

}  // namespace
}  // namespace cachegen
