// Reading zip archives held in memory: NumPy's .npz files and LibTorch's checkpoint archives.
// Every record is checked before it is used (the end records, zip64 ones too; the central
// directory; each member's local header against it) and nothing is allocated in proportion to
// the sizes an archive claims, so a damaged or hostile file is an error, never a crash or a
// giant allocation. Members are stored or deflated; encryption and spanned archives are refused.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace lowbit::util {

/// A zip archive that is damaged or holds what the reader does not read; what() says what is
/// wrong and where, without the file's name (the caller knows it).
class ZipError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// What a reader of zip archives accepts.
struct ZipOptions {
  /// Whether an archive comment may follow the end record (zip tools write one; LibTorch does
  /// not, so for its archives bytes there mean a damaged file).
  bool allow_comment = false;
  /// All members together may inflate to at most this many times the archive's size (at least
  /// 4 KiB): far more is a damaged size or a decompression bomb. Deflate itself expands at most
  /// 1032 times, which every member's recorded sizes must respect too.
  uint64_t max_inflation_factor = 1032;
};

/// One member as the central directory records it, zip64 sizes and offsets resolved.
struct ZipMember {
  std::string name;           ///< The member's path inside the archive.
  uint16_t method = 0;        ///< 0 stored, 8 deflate.
  uint32_t crc = 0;           ///< CRC-32 of the uncompressed bytes.
  uint64_t compressed = 0;    ///< Bytes of stored or deflate data.
  uint64_t uncompressed = 0;  ///< Bytes once inflated.
  uint64_t data_offset = 0;   ///< Where the member's data start in the archive.
};

/// The members of `archive` in central-directory order, all headers checked; their data are not
/// read yet. Throws ZipError.
std::vector<ZipMember> zip_members(std::string_view archive, const ZipOptions& options = {});

/// The uncompressed bytes of `member` of `archive`, checked against the recorded size and CRC-32;
/// memory grows with the bytes inflated, not with the size the member claims. Throws ZipError.
std::string zip_member_bytes(std::string_view archive, const ZipMember& member);

/// Throws ZipError unless `archive` is one complete zip archive whose every member's data have
/// their recorded size and CRC-32; inflates in fixed-size pieces, holding no member whole.
void check_zip_archive(std::string_view archive, const ZipOptions& options = {});

}  // namespace lowbit::util
