#include "lowbit/train/checkpoint/checkpoint_zip.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace lowbit::train {
namespace {

constexpr uint32_t kLocalSignature = 0x04034b50;
constexpr uint32_t kCentralSignature = 0x02014b50;
constexpr uint32_t kEndSignature = 0x06054b50;
constexpr uint32_t kZip64EndSignature = 0x06064b50;
constexpr uint32_t kZip64LocatorSignature = 0x07064b50;
constexpr uint64_t kEndBytes = 22;
constexpr uint64_t kZip64LocatorBytes = 20;
constexpr uint64_t kZip64EndBytes = 56;
constexpr uint64_t kCentralBytes = 46;
constexpr uint64_t kLocalBytes = 30;
constexpr uint32_t kMarker32 = 0xffffffffu;  // "the value is in the zip64 extra field"
constexpr uint16_t kMarker16 = 0xffffu;
// LibTorch stores tensors uncompressed and deflates only its small code files, so a checkpoint
// inflates to little more than its own size; far more is a damaged size or a decompression bomb.
constexpr uint64_t kMaxInflationFactor = 16;

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error(what);
}

// Little-endian reads that fail, instead of reading past the end, on a record cut short.
class Bytes {
 public:
  explicit Bytes(std::string_view bytes) : bytes_(bytes) {}
  uint64_t size() const { return bytes_.size(); }
  std::string_view span(uint64_t at, uint64_t count, const char* what) const {
    if (at > bytes_.size() || count > bytes_.size() - at) {
      fail(std::string(what) + " at byte " + std::to_string(at) + " runs past the end of the file");
    }
    return bytes_.substr(static_cast<size_t>(at), static_cast<size_t>(count));
  }
  uint64_t number(uint64_t at, int width, const char* what) const {
    const std::string_view field = span(at, static_cast<uint64_t>(width), what);
    uint64_t value = 0;
    for (int i = width - 1; i >= 0; --i) {
      value = (value << 8) | static_cast<uint8_t>(field[static_cast<size_t>(i)]);
    }
    return value;
  }
  uint16_t u16(uint64_t at, const char* what) const {
    return static_cast<uint16_t>(number(at, 2, what));
  }
  uint32_t u32(uint64_t at, const char* what) const {
    return static_cast<uint32_t>(number(at, 4, what));
  }
  uint64_t u64(uint64_t at, const char* what) const { return number(at, 8, what); }

 private:
  std::string_view bytes_;
};

uint32_t crc_of(std::string_view data, uLong crc = crc32(0L, Z_NULL, 0)) {
  while (!data.empty()) {
    const size_t chunk = std::min<size_t>(data.size(), size_t{1} << 30);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(chunk));
    data.remove_prefix(chunk);
  }
  return static_cast<uint32_t>(crc);
}

// Inflates raw deflate data in fixed-size pieces (nothing allocated for the size it claims) and
// returns the CRC-32 of the output, which must be exactly `size` bytes and use up `data`.
uint32_t inflated_crc(std::string_view data, uint64_t size, const std::string& member) {
  z_stream stream{};
  if (inflateInit2(&stream, -MAX_WBITS) != Z_OK) fail("zlib cannot start inflating " + member);
  struct End {
    z_stream* stream;
    ~End() { inflateEnd(stream); }
  } end{&stream};
  std::array<unsigned char, 1 << 16> out{};
  uLong crc = crc32(0L, Z_NULL, 0);
  uint64_t produced = 0;
  int status = Z_OK;
  while (status != Z_STREAM_END) {
    if (stream.avail_in == 0 && !data.empty()) {
      const size_t chunk = std::min<size_t>(data.size(), size_t{1} << 30);
      stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
      stream.avail_in = static_cast<uInt>(chunk);
      data.remove_prefix(chunk);
    }
    stream.next_out = out.data();
    stream.avail_out = static_cast<uInt>(out.size());
    status = inflate(&stream, Z_NO_FLUSH);
    if (status != Z_OK && status != Z_STREAM_END) {
      fail("member '" + member + "' has corrupt or truncated deflate data");
    }
    const size_t got = out.size() - stream.avail_out;
    produced += got;
    if (produced > size) {
      fail("member '" + member + "' inflates to more than its recorded " + std::to_string(size) +
           " bytes");
    }
    crc = crc32(crc, out.data(), static_cast<uInt>(got));
  }
  if (produced != size) {
    fail("member '" + member + "' inflates to " + std::to_string(produced) + " bytes, not its " +
         "recorded " + std::to_string(size));
  }
  if (stream.avail_in != 0 || !data.empty()) {
    fail("member '" + member + "' has data after the end of its deflate stream");
  }
  return static_cast<uint32_t>(crc);
}

// The zip end records: where the central directory is and how many members it lists.
struct Directory {
  uint64_t entries = 0;
  uint64_t offset = 0;
  uint64_t size = 0;
};

Directory read_end_records(const Bytes& bytes) {
  if (bytes.size() < kEndBytes) fail("it is too short to be a zip archive");
  const uint64_t end = bytes.size() - kEndBytes;
  if (bytes.u32(end, "the end record") != kEndSignature) {
    fail("it does not end with a zip end record (truncated, or data after the archive)");
  }
  if (bytes.u16(end + 20, "the end record") != 0) {
    fail("its end record announces a comment that is not there");
  }
  if (bytes.u16(end + 4, "the end record") != 0 || bytes.u16(end + 6, "the end record") != 0) {
    fail("its end record names another disk");
  }
  const uint16_t entries_here = bytes.u16(end + 8, "the end record");
  const uint16_t entries = bytes.u16(end + 10, "the end record");
  Directory directory{entries, bytes.u32(end + 16, "the end record"),
                      bytes.u32(end + 12, "the end record")};
  if (entries_here != entries) fail("its end record disagrees on the number of members");
  uint64_t directory_end = end;
  const bool has_zip64 =
      end >= kZip64LocatorBytes &&
      bytes.u32(end - kZip64LocatorBytes, "the zip64 locator") == kZip64LocatorSignature;
  if (has_zip64) {
    const uint64_t locator = end - kZip64LocatorBytes;
    const uint64_t record = bytes.u64(locator + 8, "the zip64 locator");
    if (bytes.u32(locator + 4, "the zip64 locator") != 0 ||
        bytes.u32(locator + 16, "the zip64 locator") != 1) {
      fail("its zip64 locator names another disk");
    }
    if (record > locator || locator - record < kZip64EndBytes ||
        bytes.u32(record, "the zip64 end record") != kZip64EndSignature ||
        bytes.u64(record + 4, "the zip64 end record") != locator - record - 12) {
      fail("its zip64 end record is not where its locator says");
    }
    if (bytes.u32(record + 16, "the zip64 end record") != 0 ||
        bytes.u32(record + 20, "the zip64 end record") != 0) {
      fail("its zip64 end record names another disk");
    }
    const Directory wide{bytes.u64(record + 32, "the zip64 end record"),
                         bytes.u64(record + 48, "the zip64 end record"),
                         bytes.u64(record + 40, "the zip64 end record")};
    if (bytes.u64(record + 24, "the zip64 end record") != wide.entries ||
        (entries != kMarker16 && entries != wide.entries) ||
        (directory.offset != kMarker32 && directory.offset != wide.offset) ||
        (directory.size != kMarker32 && directory.size != wide.size)) {
      fail("its zip64 end record disagrees with its end record");
    }
    directory = wide;
    directory_end = record;
  } else if (entries == kMarker16 || directory.offset == kMarker32 || directory.size == kMarker32) {
    fail("its end record points to zip64 records that are missing");
  }
  if (directory.offset > directory_end || directory_end - directory.offset != directory.size) {
    fail("its central directory does not end where its end records begin");
  }
  if (directory.entries == 0) fail("it has no members");
  if (directory.entries > directory.size / kCentralBytes) {
    fail("its central directory is too small for the " + std::to_string(directory.entries) +
         " members it claims");
  }
  return directory;
}

// One member as the central directory describes it.
struct Member {
  std::string name;
  uint16_t flags = 0;
  uint16_t method = 0;
  uint32_t crc = 0;
  uint64_t compressed = 0;
  uint64_t uncompressed = 0;
  uint64_t local_header = 0;
};

// Reads the central directory entry at `at` and returns the offset of the next one.
uint64_t read_central_entry(const Bytes& bytes, uint64_t at, Member& member) {
  if (bytes.u32(at, "a central directory entry") != kCentralSignature) {
    fail("its central directory has a damaged entry at byte " + std::to_string(at));
  }
  member.flags = bytes.u16(at + 8, "a central directory entry");
  member.method = bytes.u16(at + 10, "a central directory entry");
  member.crc = bytes.u32(at + 16, "a central directory entry");
  member.compressed = bytes.u32(at + 20, "a central directory entry");
  member.uncompressed = bytes.u32(at + 24, "a central directory entry");
  const uint16_t name_bytes = bytes.u16(at + 28, "a central directory entry");
  const uint16_t extra_bytes = bytes.u16(at + 30, "a central directory entry");
  const uint16_t comment_bytes = bytes.u16(at + 32, "a central directory entry");
  uint64_t disk = bytes.u16(at + 34, "a central directory entry");
  member.local_header = bytes.u32(at + 42, "a central directory entry");
  member.name = std::string(bytes.span(at + kCentralBytes, name_bytes, "a member name"));
  if (member.name.empty()) fail("a member at byte " + std::to_string(at) + " has no name");
  const std::string_view extra =
      bytes.span(at + kCentralBytes + name_bytes, extra_bytes, "an extra field");
  bytes.span(at + kCentralBytes + name_bytes + extra_bytes, comment_bytes, "a member comment");
  // Extra fields are (id, length, data) blocks; zip64's (id 1) holds, in this order, the fields
  // that the fixed part marks as too large for it.
  const Bytes blocks(extra);
  uint64_t pos = 0;
  while (pos < extra.size()) {
    const uint16_t id = blocks.u16(pos, "an extra field");
    const uint16_t length = blocks.u16(pos + 2, "an extra field");
    const Bytes data(blocks.span(pos + 4, length, "an extra field"));
    if (id == 1) {
      uint64_t field = 0;
      for (uint64_t* value : {&member.uncompressed, &member.compressed, &member.local_header}) {
        if (*value != kMarker32) continue;
        *value = data.u64(field, "a zip64 extra field");
        field += 8;
      }
      if (disk == kMarker16) disk = data.u32(field, "a zip64 extra field");
    }
    pos += 4 + uint64_t{length};
  }
  if (disk != 0) fail("member '" + member.name + "' is on another disk");
  return at + kCentralBytes + name_bytes + extra_bytes + comment_bytes;
}

// Checks the member's local header against the central directory and its data against the
// recorded size and CRC-32.
void check_member(const Bytes& bytes, const Member& member, uint64_t directory_offset) {
  const std::string& name = member.name;
  if ((member.flags & 1) != 0) fail("member '" + name + "' is encrypted");
  if (member.method != 0 && member.method != 8) {
    fail("member '" + name + "' uses compression method " + std::to_string(member.method) +
         " (LibTorch writes 0 or 8)");
  }
  if (member.method == 0 && member.compressed != member.uncompressed) {
    fail("stored member '" + name + "' has different compressed and uncompressed sizes");
  }
  const uint64_t at = member.local_header;
  if (at > directory_offset || directory_offset - at < kLocalBytes ||
      bytes.u32(at, "a local header") != kLocalSignature) {
    fail("member '" + name + "' has no local header at byte " + std::to_string(at));
  }
  const uint16_t flags = bytes.u16(at + 6, "a local header");
  const uint16_t name_bytes = bytes.u16(at + 26, "a local header");
  const uint16_t extra_bytes = bytes.u16(at + 28, "a local header");
  if (bytes.u16(at + 8, "a local header") != member.method ||
      bytes.span(at + kLocalBytes, name_bytes, "a local header") != name) {
    fail("the local header of member '" + name + "' disagrees with the central directory");
  }
  // Without a data descriptor (flag bit 3) the local header repeats CRC and sizes.
  const uint32_t local_crc = bytes.u32(at + 14, "a local header");
  const uint32_t local_compressed = bytes.u32(at + 18, "a local header");
  const uint32_t local_uncompressed = bytes.u32(at + 22, "a local header");
  if ((flags & 8) == 0 &&
      (local_crc != member.crc ||
       (local_compressed != kMarker32 && local_compressed != member.compressed) ||
       (local_uncompressed != kMarker32 && local_uncompressed != member.uncompressed))) {
    fail("the local header of member '" + name + "' disagrees with the central directory");
  }
  const uint64_t data_at = at + kLocalBytes + name_bytes + extra_bytes;
  if (data_at > directory_offset || directory_offset - data_at < member.compressed) {
    fail("the data of member '" + name + "' runs into the central directory");
  }
  const std::string_view data = bytes.span(data_at, member.compressed, "member data");
  const uint32_t crc =
      member.method == 0 ? crc_of(data) : inflated_crc(data, member.uncompressed, name);
  if (crc != member.crc) {
    fail("member '" + name + "' fails its CRC-32 check (the file is damaged)");
  }
}

}  // namespace

void check_zip_archive(std::string_view archive) {
  const Bytes bytes(archive);
  const Directory directory = read_end_records(bytes);
  const uint64_t inflation_limit = kMaxInflationFactor * std::max<uint64_t>(bytes.size(), 4096);
  uint64_t inflated = 0;
  uint64_t at = directory.offset;
  for (uint64_t i = 0; i < directory.entries; ++i) {
    Member member;
    at = read_central_entry(bytes, at, member);
    if (at > directory.offset + directory.size) {
      fail("its central directory entries run past the directory's recorded size");
    }
    if (member.uncompressed > inflation_limit - inflated) {
      fail("its members claim more than " + std::to_string(inflation_limit) +
           " uncompressed bytes, " + std::to_string(kMaxInflationFactor) +
           " times the file's size");
    }
    inflated += member.uncompressed;
    check_member(bytes, member, directory.offset);
  }
  if (at != directory.offset + directory.size) {
    fail("its central directory is larger than its " + std::to_string(directory.entries) +
         " entries");
  }
}

}  // namespace lowbit::train
