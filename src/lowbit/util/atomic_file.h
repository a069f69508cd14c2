// Writing a file so that a reader never sees it half-written: write a temporary file beside the
// target, flush it to disk, then rename it over the target (atomic on POSIX file systems).
#pragma once

#include <functional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

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

/// The temporary file write_file_atomically uses for `path` in process `pid`: "<path>.tmp.<pid>".
std::string atomic_temp_path(const std::string& path, long pid);

/// True when no process `pid` exists (pid > 1); false for live processes and impossible pids.
bool process_is_gone(long pid);

/// Removes the temporary files that write_file_atomically left in `dir` (not below it) when its
/// process was killed: regular files named "<name>.tmp.<pid>" whose process no longer exists.
/// Leaves every other file, and temporaries of live processes. Returns the removed paths; throws
/// FileError naming a file that cannot be removed.
std::vector<std::string> remove_stale_temp_files(const std::string& dir);

}  // namespace lowbit::util
