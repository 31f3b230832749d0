// Golden containers: files of every codec configuration written by an earlier version and
// committed under codec/test/golden/ (the input KV, each codec's file of two chunk containers,
// and what it decoded to). Every later version must decode them to the very same KV, and encode
// the input to the very same bytes; a format change bumps the container version, keeps the old
// reader, and adds new golden files beside the old ones (regenerate the current ones with
// CACHEGEN_UPDATE_GOLDEN=1 and say why in the commit).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "cachegen/codec/registry.h"
#include "cachegen/core/byte_io.h"
#include "cachegen/core/kv_io.h"
#include "test_util.h"

namespace cachegen {
namespace {

const std::string kDir = CACHEGEN_SOURCE_DIR "/codec/test/golden";

struct GoldenCase {
  const char* name;
  const char* codec;
  const char* params;
};

const GoldenCase kCases[] = {
    {"identity", "identity", ""},
    {"identity-bf16", "identity", "dtype=bf16"},
    {"quant8", "quant", "bits=8"},
    {"quant4-group32", "quant", "bits=4;group=32"},
    {"kivi2", "kivi", "bits=2;group=8;residual=4"},
    {"cachegen-level1", "cachegen", "level=1"},
    {"cachegen-level2", "cachegen", "level=2"},
    {"cachegen-level3-lanes16", "cachegen", "level=3;lanes=16"},
    {"cachegen-ac", "cachegen", "level=2;coder=ac"},
    {"cachegen-delta", "cachegen", "level=2;delta=on;delta_group=4"},
    {"cachegen-precision10", "cachegen", "level=2;precision=10;lanes=8;lane_channels=1"},
#if CACHEGEN_WITH_KVTC
    {"kvtc-identity", "kvtc", "bits=3;window=8"},  // (a calibrated kvtc needs its file)
#endif
};

bool updating() {
  const char* update = std::getenv("CACHEGEN_UPDATE_GOLDEN");
  return update && std::string(update) == "1";
}

// [2 layers, 40 tokens, 2 heads, 32 dims] f16: two chunks of 24 and 16 tokens.
const KVCache& input() {
  static const KVCache kv = [] {
    const std::string path = kDir + "/input.safetensors";
    if (updating() && !std::filesystem::exists(path))
      save_kv(path, small_kv(2, 40, 2, 32, DType::kF16, 11));
    return load_kv(path);
  }();
  return kv;
}

class GoldenContainers : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(GoldenContainers, DecodeToTheCommittedKVAndEncodeToTheCommittedBytes) {
  const GoldenCase& c = GetParam();
  const std::string file = kDir + "/" + c.name + ".cgc";
  const std::string decoded_path = kDir + "/" + c.name + ".decoded.safetensors";
  const std::unique_ptr<Codec> codec =
      make_codec(c.codec, Options::parse(c.params, c.name), CodecContext{});
  const std::vector<uint8_t> encoded = encode_chunks(*codec, input(), 24, nullptr);
  if (updating()) {
    write_file_atomic(file, encoded);
    save_kv(decoded_path, decode_file(encoded, file, CodecContext{}));
  }
  const std::vector<uint8_t> golden = read_file(file);
  const KVCache expected = load_kv(decoded_path);
  EXPECT_TRUE(same_bytes(decode_file(golden, file, CodecContext{}), expected))
      << file << " no longer decodes to " << decoded_path;
  EXPECT_EQ(encoded, golden) << c.name << ": the encoder's output changed. If the format changed, "
                             << "bump the container version, keep the old reader and add new "
                                "golden files; else regenerate with CACHEGEN_UPDATE_GOLDEN=1";
}

INSTANTIATE_TEST_SUITE_P(Codecs, GoldenContainers, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<GoldenCase>& case_info) {
                           std::string name = case_info.param.name;
                           for (char& ch : name)
                             ch = ch == '-' ? '_' : ch;
                           return name;
                         });

}  // namespace
}  // namespace cachegen
