// SHA-256 (FIPS 180-4), used to detect corrupted or altered checkpoints. Incremental, so large
// tensors are hashed in place without copying them into one buffer.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace lowbit::util {

/// An incremental SHA-256 digest.
class Sha256 {
 public:
  /// Starts an empty message.
  Sha256();
  /// Appends `size` bytes at `data` to the message.
  void update(const void* data, size_t size);
  /// Appends the bytes of `text` to the message.
  void update(const std::string& text) { update(text.data(), text.size()); }
  /// Finishes the message and returns its digest as 64 lowercase hex digits; the object must not
  /// be updated afterwards.
  std::string hex_digest();

 private:
  void compress(const uint8_t* block);

  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buffer_{};
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
};

/// The SHA-256 of `text` as 64 lowercase hex digits.
std::string sha256_hex(const std::string& text);

}  // namespace lowbit::util
