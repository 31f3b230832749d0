#include "cachegen/core/sha256.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "cachegen/core/error.h"

namespace cachegen {
namespace {

std::string hash_of(const std::string& text) {
  return sha256_hex(reinterpret_cast<const uint8_t*>(text.data()), text.size());
}

// The FIPS 180-4 examples (and the empty message).
TEST(Sha256, KnownVectors) {
  EXPECT_EQ(hash_of(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hash_of("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hash_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(hash_of(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

// Any split of the input into update() calls, and the file reader (1 MiB pieces), give the
// one-shot digest.
TEST(Sha256, PiecesAndFilesGiveTheSameDigest) {
  std::mt19937 rng(3);
  std::vector<uint8_t> data((1 << 20) + 777);
  for (auto& b : data)
    b = static_cast<uint8_t>(rng());
  const std::string whole = sha256_hex(data.data(), data.size());
  for (size_t piece : {1u, 63u, 64u, 65u, 1000u}) {
    Sha256 hash;
    for (size_t at = 0; at < data.size(); at += piece)
      hash.update(data.data() + at, std::min(piece, data.size() - at));
    EXPECT_EQ(hash.hex_digest(), whole) << piece;
  }
  const std::string path = ::testing::TempDir() + "/sha256_" + std::to_string(getpid());
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  EXPECT_EQ(sha256_file(path), whole);
  EXPECT_THROW(sha256_file(path + ".missing"), Error);
}

}  // namespace
}  // namespace cachegen
