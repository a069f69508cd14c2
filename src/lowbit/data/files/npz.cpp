#include "lowbit/data/files/npz.h"

#include <zlib.h>

#include <algorithm>
#include <cstdint>

#include "lowbit/data/files/gzip_file.h"
#include "lowbit/data/files/input_file.h"
#include "lowbit/data/files/npy.h"
#include "lowbit/util/atomic_file.h"

namespace lowbit::data {
namespace {

constexpr uint32_t kLocalSignature = 0x04034b50;
constexpr uint32_t kCentralSignature = 0x02014b50;
constexpr uint32_t kEndSignature = 0x06054b50;
constexpr uint32_t kZip64LocatorSignature = 0x07064b50;
constexpr size_t kLocalHeaderSize = 30;
constexpr size_t kCentralHeaderSize = 46;
constexpr size_t kEndSize = 22;
constexpr size_t kZip64LocatorSize = 20;
constexpr size_t kMaxComment = 0xFFFF;
constexpr uint16_t kStored = 0;
constexpr uint16_t kDeflate = 8;
constexpr uint32_t kZip64Marker32 = 0xFFFFFFFF;
constexpr uint16_t kZip64Marker16 = 0xFFFF;

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw util::FileError(path + ": " + what);
}

[[noreturn]] void fail_member(const std::string& path, const std::string& member,
                              const std::string& what) {
  fail(path, "member '" + member + "': " + what);
}

uint16_t u16(const std::string& b, size_t at) {
  return static_cast<uint16_t>(static_cast<unsigned char>(b[at]) |
                               (static_cast<unsigned char>(b[at + 1]) << 8));
}

uint32_t u32(const std::string& b, size_t at) {
  return static_cast<uint32_t>(u16(b, at)) | (static_cast<uint32_t>(u16(b, at + 2)) << 16);
}

// The end-of-central-directory record sits in the last 22 + comment bytes; searching backwards
// finds the real one even when the comment happens to contain the signature.
size_t find_end_record(const std::string& bytes, const std::string& path) {
  if (bytes.size() < kEndSize) {
    if (bytes.size() >= 4 && u32(bytes, 0) == kLocalSignature) fail(path, "truncated ZIP archive");
    fail(path, "not a ZIP archive (.npz expected)");
  }
  const size_t lowest =
      bytes.size() > kEndSize + kMaxComment ? bytes.size() - kEndSize - kMaxComment : 0;
  for (size_t at = bytes.size() - kEndSize + 1; at-- > lowest;) {
    if (u32(bytes, at) == kEndSignature && at + kEndSize + u16(bytes, at + 20) == bytes.size()) {
      return at;
    }
  }
  if (u32(bytes, 0) == kLocalSignature) fail(path, "truncated ZIP archive (no end record)");
  fail(path, "not a ZIP archive (.npz expected)");
}

// Inflates a member in pieces: memory follows the bytes the deflate data really produces, not the
// size the central directory declares, and a declared size the packed bytes cannot produce
// (deflate expands at most kMaxDeflateRatio times) is refused before inflating.
std::string inflate_raw(const std::string& packed, size_t size, const std::string& path,
                        const std::string& member) {
  if (size > packed.size() * kMaxDeflateRatio) {
    fail_member(path, member,
                "declares " + std::to_string(size) + " bytes, more than its " +
                    std::to_string(packed.size()) + " bytes of deflate data can hold (at most " +
                    std::to_string(packed.size() * kMaxDeflateRatio) + ")");
  }
  std::string out;
  out.reserve(std::min(size, packed.size() * 8 + 4096));
  z_stream stream{};
  if (inflateInit2(&stream, -MAX_WBITS) != Z_OK) fail_member(path, member, "zlib init failed");
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(packed.data()));
  stream.avail_in = static_cast<uInt>(packed.size());
  constexpr size_t kChunk = size_t{1} << 20;
  int status = Z_OK;
  while (status == Z_OK) {
    // One byte beyond the declared size is room enough to notice data that runs longer.
    const size_t at = out.size();
    const size_t want = std::min(kChunk, size + 1 - at);
    out.resize(at + want);
    stream.next_out = reinterpret_cast<Bytef*>(out.data() + at);
    stream.avail_out = static_cast<uInt>(want);
    status = inflate(&stream, Z_NO_FLUSH);
    out.resize(at + want - stream.avail_out);
    if (out.size() > size) break;
  }
  inflateEnd(&stream);
  if (status != Z_STREAM_END || out.size() != size) {
    fail_member(path, member,
                "bad deflate data (zlib status " + std::to_string(status) + ", " +
                    (out.size() > size ? "more than " : "") + std::to_string(out.size()) + " of " +
                    std::to_string(size) + " bytes)");
  }
  return out;
}

// One member's name and .npy bytes, checked against the CRC of the central directory.
std::pair<std::string, std::string> read_member(const std::string& bytes, size_t& at,
                                                const std::string& path) {
  if (at + kCentralHeaderSize > bytes.size() || u32(bytes, at) != kCentralSignature) {
    fail(path, "truncated or corrupt central directory");
  }
  const uint16_t flags = u16(bytes, at + 8);
  const uint16_t method = u16(bytes, at + 10);
  const uint32_t crc = u32(bytes, at + 16);
  const uint32_t packed_size = u32(bytes, at + 20);
  const uint32_t size = u32(bytes, at + 24);
  const size_t name_len = u16(bytes, at + 28);
  const size_t extra_len = u16(bytes, at + 30);
  const size_t comment_len = u16(bytes, at + 32);
  const uint32_t local = u32(bytes, at + 42);
  if (at + kCentralHeaderSize + name_len > bytes.size()) fail(path, "truncated central directory");
  const std::string name = bytes.substr(at + kCentralHeaderSize, name_len);
  at += kCentralHeaderSize + name_len + extra_len + comment_len;
  if (packed_size == kZip64Marker32 || size == kZip64Marker32 || local == kZip64Marker32) {
    fail_member(path, name, "ZIP64 archives are not supported");
  }
  if ((flags & 1) != 0) fail_member(path, name, "encrypted members are not supported");
  if (method != kStored && method != kDeflate) {
    fail_member(path, name,
                "unsupported compression method " + std::to_string(method) +
                    " (expected 0 stored or 8 deflate)");
  }
  if (size_t{local} + kLocalHeaderSize > bytes.size() || u32(bytes, local) != kLocalSignature) {
    fail_member(path, name, "truncated or corrupt local header");
  }
  const size_t data_at =
      size_t{local} + kLocalHeaderSize + u16(bytes, local + 26) + u16(bytes, local + 28);
  if (data_at + packed_size > bytes.size()) fail_member(path, name, "truncated data");
  const std::string packed = bytes.substr(data_at, packed_size);
  if (method == kStored && packed_size != size) {
    fail_member(path, name, "stored member with different packed and unpacked sizes");
  }
  std::string data = method == kStored ? packed : inflate_raw(packed, size, path, name);
  const uint32_t actual = static_cast<uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
  if (actual != crc) fail_member(path, name, "CRC mismatch (corrupt data)");
  return {name, std::move(data)};
}

std::string strip_npy(const std::string& name) {
  const std::string suffix = ".npy";
  if (name.size() > suffix.size() &&
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
    return name.substr(0, name.size() - suffix.size());
  }
  return name;
}

}  // namespace

std::map<std::string, torch::Tensor> read_npz(const std::string& path) {
  const std::string bytes = read_input_file(path, "an .npz file");
  const size_t end = find_end_record(bytes, path);
  if (end >= kZip64LocatorSize && u32(bytes, end - kZip64LocatorSize) == kZip64LocatorSignature) {
    fail(path, "ZIP64 archives are not supported");
  }
  const uint16_t count = u16(bytes, end + 10);
  const uint32_t dir_size = u32(bytes, end + 12);
  const uint32_t dir_at = u32(bytes, end + 16);
  if (count == kZip64Marker16 || dir_size == kZip64Marker32 || dir_at == kZip64Marker32) {
    fail(path, "ZIP64 archives are not supported");
  }
  if (size_t{dir_at} + dir_size > end) fail(path, "truncated ZIP archive (central directory)");
  std::map<std::string, torch::Tensor> arrays;
  size_t at = dir_at;
  for (uint16_t i = 0; i < count; ++i) {
    auto [name, data] = read_member(bytes, at, path);
    const std::string key = strip_npy(name);
    if (arrays.count(key) != 0) fail_member(path, name, "appears twice");
    arrays[key] = read_npy_bytes(data, path + ":" + name);
  }
  return arrays;
}

torch::Tensor read_npz_member(const std::string& path, const std::string& key) {
  std::map<std::string, torch::Tensor> arrays = read_npz(path);
  auto found = arrays.find(key);
  if (found == arrays.end()) {
    std::string names;
    for (const auto& [name, tensor] : arrays) names += (names.empty() ? "" : ", ") + name;
    fail(path, "no member '" + key + "' (members: " + names + ")");
  }
  return found->second;
}

}  // namespace lowbit::data
