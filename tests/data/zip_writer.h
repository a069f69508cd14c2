// A tiny ZIP writer for tests of the .npz reader: stored and raw-deflate members, optionally with
// zip64 records throughout (as archives over 4 GiB or 65535 members need) and an archive comment.
#pragma once

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <string>
#include <vector>

namespace lowbit::data::testing {

/// One archive member for zip_bytes().
struct Member {
  std::string name;  ///< Member name, e.g. "x.npy".
  std::string data;  ///< Uncompressed bytes.
  /// 0 stored, 8 deflate; any other method is written stored, to test rejection.
  uint16_t method = 0;
  /// Extra field of the local header (e.g. a ZIP64 record, as numpy writes).
  std::string local_extra = {};
  /// When not negative, the uncompressed size both headers declare instead of the real one.
  int64_t declared_size = -1;
  /// Bytes after the packed data, counted in the packed size (padding for a false size).
  std::string packed_tail = {};
};

/// Appends `v` as little-endian uint16.
inline void put16(std::string& out, uint32_t v) {
  out += static_cast<char>(v & 0xFF);
  out += static_cast<char>((v >> 8) & 0xFF);
}

/// Appends `v` as little-endian uint32.
inline void put32(std::string& out, uint32_t v) {
  put16(out, v & 0xFFFF);
  put16(out, v >> 16);
}

/// Appends `v` as little-endian uint64.
inline void put64(std::string& out, uint64_t v) {
  put32(out, static_cast<uint32_t>(v & 0xFFFFFFFF));
  put32(out, static_cast<uint32_t>(v >> 32));
}

/// How zip_bytes() writes the archive's records.
struct ZipLayout {
  /// Central directory entries and end records in their zip64 form: the 32-bit fields hold the
  /// marker 0xFFFFFFFF (0xFFFF for counts) and the values stand in zip64 extra fields and records.
  bool zip64 = false;
  /// The archive comment after the end record.
  std::string comment = {};
};

/// Raw deflate (no zlib header) of `data`.
inline std::string deflate_raw(const std::string& data) {
  z_stream s{};
  EXPECT_EQ(deflateInit2(&s, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&s, data.size()), '\0');
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  s.avail_in = static_cast<uInt>(data.size());
  s.next_out = reinterpret_cast<Bytef*>(out.data());
  s.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&s, Z_FINISH), Z_STREAM_END);
  out.resize(s.total_out);
  deflateEnd(&s);
  return out;
}

/// A minimal ZIP archive: local headers, data, central directory, end record.
inline std::string zip_bytes(const std::vector<Member>& members, const ZipLayout& layout = {}) {
  std::string out;
  std::string dir;
  for (const Member& m : members) {
    const std::string packed = (m.method == 8 ? deflate_raw(m.data) : m.data) + m.packed_tail;
    const uint32_t size =
        static_cast<uint32_t>(m.declared_size >= 0 ? m.declared_size : m.data.size());
    const uint32_t crc = static_cast<uint32_t>(
        crc32(0L, reinterpret_cast<const Bytef*>(m.data.data()), static_cast<uInt>(m.data.size())));
    const uint32_t offset = static_cast<uint32_t>(out.size());
    put32(out, 0x04034b50);
    put16(out, 20);
    put16(out, 0);
    put16(out, m.method);
    put32(out, 0);  // time and date
    put32(out, crc);
    put32(out, static_cast<uint32_t>(packed.size()));
    put32(out, size);
    put16(out, static_cast<uint32_t>(m.name.size()));
    put16(out, static_cast<uint32_t>(m.local_extra.size()));
    out += m.name + m.local_extra + packed;
    put32(dir, 0x02014b50);
    put16(dir, 20);
    put16(dir, 20);
    put16(dir, 0);
    put16(dir, m.method);
    put32(dir, 0);
    put32(dir, crc);
    std::string extra;  // zip64: uncompressed size, compressed size, local header offset
    if (layout.zip64) {
      put16(extra, 0x0001);
      put16(extra, 24);
      put64(extra, size);
      put64(extra, packed.size());
      put64(extra, offset);
    }
    put32(dir, layout.zip64 ? 0xFFFFFFFF : static_cast<uint32_t>(packed.size()));
    put32(dir, layout.zip64 ? 0xFFFFFFFF : size);
    put16(dir, static_cast<uint32_t>(m.name.size()));
    put16(dir, static_cast<uint32_t>(extra.size()));
    put16(dir, 0);
    put16(dir, 0);
    put16(dir, 0);
    put32(dir, 0);
    put32(dir, layout.zip64 ? 0xFFFFFFFF : offset);
    dir += m.name + extra;
  }
  const uint32_t dir_at = static_cast<uint32_t>(out.size());
  out += dir;
  if (layout.zip64) {
    const uint64_t record = out.size();
    put32(out, 0x06064b50);  // zip64 end record: its size after this field, versions, disks
    put64(out, 44);
    put16(out, 45);
    put16(out, 45);
    put32(out, 0);
    put32(out, 0);
    put64(out, members.size());
    put64(out, members.size());
    put64(out, dir.size());
    put64(out, dir_at);
    put32(out, 0x07064b50);  // zip64 locator: disk, the record's offset, disks
    put32(out, 0);
    put64(out, record);
    put32(out, 1);
  }
  put32(out, 0x06054b50);
  put16(out, 0);
  put16(out, 0);
  put16(out, layout.zip64 ? 0xFFFF : static_cast<uint32_t>(members.size()));
  put16(out, layout.zip64 ? 0xFFFF : static_cast<uint32_t>(members.size()));
  put32(out, layout.zip64 ? 0xFFFFFFFF : static_cast<uint32_t>(dir.size()));
  put32(out, layout.zip64 ? 0xFFFFFFFF : dir_at);
  put16(out, static_cast<uint32_t>(layout.comment.size()));
  return out + layout.comment;
}

}  // namespace lowbit::data::testing
