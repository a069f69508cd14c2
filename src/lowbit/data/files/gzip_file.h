// Reading a file that may or may not be gzip-compressed, whole or piece by piece.
#pragma once

#include <zlib.h>

#include <cstdint>
#include <memory>
#include <string>

namespace lowbit::data {

/// deflate's densest encoding: one compressed byte expands to at most 1032 bytes (zlib's
/// technical notes), so a gzip file of S bytes never holds more than 1032 * S.
inline constexpr uint64_t kMaxDeflateRatio = 1032;

/// Reads a gzip file (inflated) or any other file (as it is) in pieces, so that a reader can check
/// a header before it reads, and allocates for, the rest.
class MaybeGzippedReader {
 public:
  /// Opens `path`; throws util::FileError naming it when it is missing, not a regular file
  /// (e.g. a folder) or unreadable.
  explicit MaybeGzippedReader(const std::string& path);

  /// Appends up to `n` more bytes to `out` and returns how many; fewer only at the end of the
  /// data. Throws util::FileError naming the file for corrupt or truncated gzip data.
  size_t read(std::string& out, size_t n);

  /// True when the file is gzip-compressed (valid after the first read).
  bool compressed() const;

  /// The most bytes the file can hold: its size when plain, kMaxDeflateRatio times it when gzip.
  uint64_t max_content() const;

  /// The file's size on disk.
  uint64_t file_size() const { return file_size_; }

  /// The path, for error messages.
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  uint64_t file_size_ = 0;
  std::unique_ptr<gzFile_s, int (*)(gzFile)> file_;
};

/// The decompressed content of `path` (gzip files are inflated, other files read as they are).
/// Throws util::FileError naming the path if it is missing, unreadable or a corrupt gzip stream.
/// Memory grows with the bytes actually produced, never with a size some header declares.
std::string read_maybe_gzipped(const std::string& path);

}  // namespace lowbit::data
