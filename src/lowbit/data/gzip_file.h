// Reading a whole file that may or may not be gzip-compressed.
#pragma once

#include <string>

namespace lowbit::data {

/// The decompressed content of `path` (gzip files are inflated, other files read as they are).
/// Throws util::FileError naming the path if it is missing, unreadable or a corrupt gzip stream.
std::string read_maybe_gzipped(const std::string& path);

}  // namespace lowbit::data
