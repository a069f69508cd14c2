#include "lowbit/util/zip_archive.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <functional>

namespace lowbit::util {
namespace {

constexpr uint32_t kLocalSignature = 0x04034b50;
constexpr uint32_t kCentralSignature = 0x02014b50;
constexpr uint32_t kEndSignature = 0x06054b50;
constexpr uint32_t kZip64EndSignature = 0x06064b50;
constexpr uint32_t kZip64LocatorSignature = 0x07064b50;
constexpr uint64_t kEndBytes = 22;
constexpr uint64_t kMaxCommentBytes = 0xffff;
constexpr uint64_t kZip64LocatorBytes = 20;
constexpr uint64_t kZip64EndBytes = 56;
constexpr uint64_t kCentralBytes = 46;
constexpr uint64_t kLocalBytes = 30;
constexpr uint32_t kMarker32 = 0xffffffffu;  // "the value is in the zip64 extra field"
constexpr uint16_t kMarker16 = 0xffffu;
constexpr uint16_t kStored = 0;
constexpr uint16_t kDeflate = 8;
// Deflate's largest expansion: a member whose recorded size exceeds this many times its packed
// bytes is damaged, whatever its data.
constexpr uint64_t kMaxDeflateRatio = 1032;

[[noreturn]] void fail(const std::string& what) {
  throw ZipError(what);
}

// Little-endian reads that fail, instead of reading past the end, on a record cut short.
class Bytes {
 public:
  explicit Bytes(std::string_view bytes) : bytes_(bytes) {}
  uint64_t size() const { return bytes_.size(); }
  std::string_view span(uint64_t at, uint64_t count, const char* what) const {
    if (at > bytes_.size() || count > bytes_.size() - at) {
      fail(std::string(what) + " at byte " + std::to_string(at) +
           " runs past the end of the file (truncated archive)");
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

// Inflates a member's raw deflate data in fixed-size pieces, handing each to `sink`; the output
// must be exactly the recorded size and use up the data. Nothing is allocated for the size the
// member claims.
void inflate_member(std::string_view data, const ZipMember& member,
                    const std::function<void(const unsigned char*, size_t)>& sink) {
  z_stream stream{};
  if (inflateInit2(&stream, -MAX_WBITS) != Z_OK) fail("zlib cannot start inflating " + member.name);
  struct End {
    z_stream* stream;
    ~End() { inflateEnd(stream); }
  } end{&stream};
  std::array<unsigned char, 1 << 16> out{};
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
    const size_t got = out.size() - stream.avail_out;
    produced += got;
    if (status != Z_OK && status != Z_STREAM_END) {
      fail("member '" + member.name + "' has corrupt or truncated deflate data (" +
           std::to_string(produced) + " of " + std::to_string(member.uncompressed) +
           " bytes inflated)");
    }
    if (produced > member.uncompressed) {
      fail("member '" + member.name + "' inflates to more than its recorded " +
           std::to_string(member.uncompressed) + " bytes");
    }
    sink(out.data(), got);
  }
  if (produced != member.uncompressed) {
    fail("member '" + member.name + "' inflates to " + std::to_string(produced) +
         " bytes, not its recorded " + std::to_string(member.uncompressed));
  }
  if (stream.avail_in != 0 || !data.empty()) {
    fail("member '" + member.name + "' has data after the end of its deflate stream");
  }
}

// Where the end record starts: at the very end, or followed by exactly its comment when comments
// are allowed (searching backwards finds the real record even when a comment holds its
// signature).
uint64_t find_end_record(const Bytes& bytes, const ZipOptions& options) {
  if (bytes.size() < kEndBytes) fail("the file is too short to be a zip archive");
  const uint64_t last = bytes.size() - kEndBytes;
  uint64_t lowest = last;
  if (options.allow_comment) lowest = last > kMaxCommentBytes ? last - kMaxCommentBytes : 0;
  for (uint64_t at = last + 1; at-- > lowest;) {
    if (bytes.u32(at, "the end record") == kEndSignature &&
        at + kEndBytes + bytes.u16(at + 20, "the end record") == bytes.size()) {
      return at;
    }
  }
  fail("no zip end record at the end of the file (truncated archive, or data after it)");
}

// The zip end records: where the central directory is and how many members it lists.
struct Directory {
  uint64_t entries = 0;
  uint64_t offset = 0;
  uint64_t size = 0;
};

Directory read_end_records(const Bytes& bytes, const ZipOptions& options) {
  const uint64_t end = find_end_record(bytes, options);
  if (bytes.u16(end + 4, "the end record") != 0 || bytes.u16(end + 6, "the end record") != 0) {
    fail("the end record names another disk (spanned archives are not read)");
  }
  const uint16_t entries_here = bytes.u16(end + 8, "the end record");
  const uint16_t entries = bytes.u16(end + 10, "the end record");
  Directory directory{entries, bytes.u32(end + 16, "the end record"),
                      bytes.u32(end + 12, "the end record")};
  if (entries_here != entries) fail("the end record disagrees with itself on the member count");
  uint64_t directory_end = end;
  const bool has_zip64 =
      end >= kZip64LocatorBytes &&
      bytes.u32(end - kZip64LocatorBytes, "the zip64 locator") == kZip64LocatorSignature;
  if (has_zip64) {
    const uint64_t locator = end - kZip64LocatorBytes;
    const uint64_t record = bytes.u64(locator + 8, "the zip64 locator");
    if (bytes.u32(locator + 4, "the zip64 locator") != 0 ||
        bytes.u32(locator + 16, "the zip64 locator") != 1) {
      fail("the zip64 locator names another disk (spanned archives are not read)");
    }
    if (record > locator || locator - record < kZip64EndBytes ||
        bytes.u32(record, "the zip64 end record") != kZip64EndSignature ||
        bytes.u64(record + 4, "the zip64 end record") != locator - record - 12) {
      fail("the zip64 end record is not where the zip64 locator says");
    }
    if (bytes.u32(record + 16, "the zip64 end record") != 0 ||
        bytes.u32(record + 20, "the zip64 end record") != 0) {
      fail("the zip64 end record names another disk (spanned archives are not read)");
    }
    const Directory wide{bytes.u64(record + 32, "the zip64 end record"),
                         bytes.u64(record + 48, "the zip64 end record"),
                         bytes.u64(record + 40, "the zip64 end record")};
    if (bytes.u64(record + 24, "the zip64 end record") != wide.entries ||
        (entries != kMarker16 && entries != wide.entries) ||
        (directory.offset != kMarker32 && directory.offset != wide.offset) ||
        (directory.size != kMarker32 && directory.size != wide.size)) {
      fail("the zip64 end record disagrees with the end record");
    }
    directory = wide;
    directory_end = record;
  } else if (entries == kMarker16 || directory.offset == kMarker32 || directory.size == kMarker32) {
    fail("the end record points to zip64 records that are missing");
  }
  if (directory.offset > directory_end || directory_end - directory.offset != directory.size) {
    fail("the central directory is not where the end record says (truncated or damaged archive)");
  }
  if (directory.entries == 0) fail("the archive has no members");
  if (directory.entries > directory.size / kCentralBytes) {
    fail("the central directory is too small for the " + std::to_string(directory.entries) +
         " members it claims");
  }
  return directory;
}

// A central directory entry's fields that its local header must repeat.
struct CentralEntry {
  ZipMember member;
  uint16_t flags = 0;
  uint64_t local_header = 0;
};

// Reads the central directory entry at `at` and returns the offset of the next one.
uint64_t read_central_entry(const Bytes& bytes, uint64_t at, CentralEntry& entry) {
  ZipMember& member = entry.member;
  if (bytes.u32(at, "a central directory entry") != kCentralSignature) {
    fail("the central directory has a damaged entry at byte " + std::to_string(at));
  }
  entry.flags = bytes.u16(at + 8, "a central directory entry");
  member.method = bytes.u16(at + 10, "a central directory entry");
  member.crc = bytes.u32(at + 16, "a central directory entry");
  member.compressed = bytes.u32(at + 20, "a central directory entry");
  member.uncompressed = bytes.u32(at + 24, "a central directory entry");
  const uint16_t name_bytes = bytes.u16(at + 28, "a central directory entry");
  const uint16_t extra_bytes = bytes.u16(at + 30, "a central directory entry");
  const uint16_t comment_bytes = bytes.u16(at + 32, "a central directory entry");
  uint64_t disk = bytes.u16(at + 34, "a central directory entry");
  entry.local_header = bytes.u32(at + 42, "a central directory entry");
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
      for (uint64_t* value : {&member.uncompressed, &member.compressed, &entry.local_header}) {
        if (*value != kMarker32) continue;
        *value = data.u64(field, "a zip64 extra field");
        field += 8;
      }
      if (disk == kMarker16) disk = data.u32(field, "a zip64 extra field");
    }
    pos += 4 + uint64_t{length};
  }
  if (member.uncompressed == kMarker32 || member.compressed == kMarker32 ||
      entry.local_header == kMarker32) {
    fail("member '" + member.name + "' marks a size or offset as zip64 but has no zip64 field");
  }
  if (disk != 0) fail("member '" + member.name + "' is on another disk");
  return at + kCentralBytes + name_bytes + extra_bytes + comment_bytes;
}

// Checks what the member records and its local header against the central directory, and sets
// where its data start.
void check_member(const Bytes& bytes, CentralEntry& entry, uint64_t directory_offset) {
  ZipMember& member = entry.member;
  const std::string& name = member.name;
  if ((entry.flags & 1) != 0) fail("member '" + name + "' is encrypted");
  if (member.method != kStored && member.method != kDeflate) {
    fail("member '" + name + "' uses compression method " + std::to_string(member.method) +
         " (lowbit reads 0, stored, and 8, deflate)");
  }
  if (member.method == kStored && member.compressed != member.uncompressed) {
    fail("stored member '" + name + "' has different compressed and uncompressed sizes");
  }
  if (member.method == kDeflate && member.uncompressed / kMaxDeflateRatio > member.compressed) {
    fail("member '" + name + "' declares " + std::to_string(member.uncompressed) +
         " bytes, more than its " + std::to_string(member.compressed) +
         " bytes of deflate data can hold (deflate expands at most " +
         std::to_string(kMaxDeflateRatio) + " times)");
  }
  const uint64_t at = entry.local_header;
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
  member.data_offset = at + kLocalBytes + name_bytes + extra_bytes;
  if (member.data_offset > directory_offset ||
      directory_offset - member.data_offset < member.compressed) {
    fail("the data of member '" + name + "' run into the central directory (truncated archive)");
  }
}

void check_crc(const ZipMember& member, uint32_t crc) {
  if (crc != member.crc) {
    fail("member '" + member.name + "' fails its CRC-32 check (the file is damaged)");
  }
}

}  // namespace

std::vector<ZipMember> zip_members(std::string_view archive, const ZipOptions& options) {
  const Bytes bytes(archive);
  const Directory directory = read_end_records(bytes, options);
  const uint64_t inflation_limit =
      options.max_inflation_factor * std::max<uint64_t>(bytes.size(), 4096);
  uint64_t inflated = 0;
  std::vector<ZipMember> members;
  uint64_t at = directory.offset;
  for (uint64_t i = 0; i < directory.entries; ++i) {
    CentralEntry entry;
    at = read_central_entry(bytes, at, entry);
    if (at > directory.offset + directory.size) {
      fail("the central directory's entries run past its recorded size");
    }
    check_member(bytes, entry, directory.offset);
    if (entry.member.uncompressed > inflation_limit - inflated) {
      fail("member '" + entry.member.name + "' takes the members over " +
           std::to_string(inflation_limit) + " uncompressed bytes, " +
           std::to_string(options.max_inflation_factor) + " times the file's size");
    }
    inflated += entry.member.uncompressed;
    members.push_back(std::move(entry.member));
  }
  if (at != directory.offset + directory.size) {
    fail("the central directory is larger than its " + std::to_string(directory.entries) +
         " entries");
  }
  return members;
}

std::string zip_member_bytes(std::string_view archive, const ZipMember& member) {
  const std::string_view data =
      Bytes(archive).span(member.data_offset, member.compressed, "member data");
  std::string out;
  if (member.method == kStored) {
    out = std::string(data);
  } else {
    inflate_member(data, member, [&out](const unsigned char* piece, size_t count) {
      out.append(reinterpret_cast<const char*>(piece), count);
    });
  }
  check_crc(member, crc_of(out));
  return out;
}

void check_zip_archive(std::string_view archive, const ZipOptions& options) {
  for (const ZipMember& member : zip_members(archive, options)) {
    const std::string_view data =
        Bytes(archive).span(member.data_offset, member.compressed, "member data");
    if (member.method == kStored) {
      check_crc(member, crc_of(data));
      continue;
    }
    uLong crc = crc32(0L, Z_NULL, 0);
    inflate_member(data, member, [&crc](const unsigned char* piece, size_t count) {
      crc = crc32(crc, piece, static_cast<uInt>(count));
    });
    check_crc(member, static_cast<uint32_t>(crc));
  }
}

}  // namespace lowbit::util
