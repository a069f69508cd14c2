#include "lowbit/util/sha256.h"

#include <gtest/gtest.h>

#include <string>

namespace lowbit::util {
namespace {

// Digests from FIPS 180-4's examples and NIST's CAVS short/long messages.
TEST(Sha256, KnownDigests) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

// Block boundaries: 55, 56 and 64 bytes need one or two padding blocks.
TEST(Sha256, PiecewiseUpdatesEqualOneUpdate) {
  const std::string text(200, 'x');
  for (size_t length : {0u, 1u, 55u, 56u, 63u, 64u, 65u, 127u, 128u, 200u}) {
    const std::string message = text.substr(0, length);
    Sha256 pieces;
    for (size_t i = 0; i < message.size(); i += 7) pieces.update(message.substr(i, 7));
    EXPECT_EQ(pieces.hex_digest(), sha256_hex(message)) << length;
  }
  EXPECT_NE(sha256_hex(std::string(55, 'x')), sha256_hex(std::string(56, 'x')));
}

}  // namespace
}  // namespace lowbit::util
