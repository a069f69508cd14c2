// Writing a file so that a reader never sees it half-written: write a temporary file beside the
// target, flush it to disk, then rename it over the target (atomic on POSIX file systems).
#pragma once

#include <functional>
#include <ostream>
#include <stdexcept>
#include <string>

namespace lowbit::util {

/// Error reading or writing a file; the message names the path.
class FileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Writes `path` atomically: `write` fills a stream on a temporary file in the same folder, which
/// is flushed, fsync'ed and renamed over `path`. If `write` throws or any step fails, `path` keeps
/// its old content, the temporary file is removed, and FileError (or the thrown error) propagates.
void write_file_atomically(const std::string& path,
                           const std::function<void(std::ostream&)>& write);

/// Writes `content` to `path` atomically (see write_file_atomically).
void write_text_atomically(const std::string& path, const std::string& content);

/// Reads a whole file; throws FileError naming the path if it cannot be opened or read.
std::string read_file(const std::string& path);

}  // namespace lowbit::util
