// The container rejects truncated, bit-flipped and foreign input with errors naming the offset.
#include "cachegen/codec/container.h"

#include <gtest/gtest.h>

#include "cachegen/codec/registry.h"
#include "cachegen/core/error.h"
#include "test_util.h"

namespace cachegen {
namespace {

std::vector<uint8_t> sample_file(const std::string& name, const std::string& params) {
  CodecContext context;
  auto codec = make_codec(name, Options::parse(params, "test"), context);
  return encode_chunks(*codec, small_kv(2, 24, 1, 8), 10, nullptr);
}

TEST(Container, HeaderFieldsRoundTrip) {
  std::vector<uint8_t> bytes = sample_file("cachegen", "level=1");
  std::vector<ContainerView> views = parse_container_file(bytes, "x");
  ASSERT_EQ(views.size(), 3u);
  EXPECT_EQ(views[1].header().codec, "cachegen");
  EXPECT_EQ(views[1].header().token_offset, 10);
  EXPECT_EQ(views[2].header().shape.tokens, 4);
  EXPECT_NE(views[0].header().params.find("key_bins="), std::string::npos);
}

TEST(Container, EveryBitFlipIsRejected) {
  std::vector<uint8_t> bytes = sample_file("cachegen", "level=2;delta=on");
  CodecContext context;
  for (size_t i = 0; i < bytes.size(); ++i) {
    for (int bit = 0; bit < 8; bit += 3) {
      std::vector<uint8_t> bad = bytes;
      bad[i] ^= static_cast<uint8_t>(1 << bit);
      EXPECT_THROW(decode_file(bad, "x", context), Error) << "byte " << i << " bit " << bit;
    }
  }
}

TEST(Container, ErrorsNameTheOffset) {
  std::vector<uint8_t> bytes = sample_file("quant", "bits=4");
  ContainerView first = parse_container_file(bytes, "x")[0];
  std::vector<uint8_t> bad = bytes;
  bad[first.total_size() + first.sections().back().offset] ^= 1;  // second chunk's payload
  try {
    decode_file(bad, "x", CodecContext{});
    FAIL();
  } catch (const Error& e) {
    std::string message = e.what();
    EXPECT_NE(message.find(str("byte offset ", first.total_size())), std::string::npos) << message;
    EXPECT_NE(message.find("section 'PACK'"), std::string::npos) << message;
  }
  std::vector<uint8_t> wrong_magic = bytes;
  wrong_magic[0] = 'X';
  EXPECT_THROW(decode_file(wrong_magic, "x", CodecContext{}), Error);
  std::vector<uint8_t> future = bytes;
  future[4] = 9;  // format version 9
  try {
    parse_container_file(future, "x");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unsupported format version 9"), std::string::npos);
  }
}

TEST(Container, MissingChunkIsDetected) {
  std::vector<uint8_t> bytes = sample_file("identity", "");
  std::vector<ContainerView> views = parse_container_file(bytes, "x");
  std::vector<uint8_t> without_middle(bytes.begin(),
                                      bytes.begin() + static_cast<long>(views[0].total_size()));
  without_middle.insert(without_middle.end(),
                        bytes.begin() + static_cast<long>(views[2].file_offset()), bytes.end());
  EXPECT_THROW(decode_file(without_middle, "x", CodecContext{}), Error);
}

}  // namespace
}  // namespace cachegen
