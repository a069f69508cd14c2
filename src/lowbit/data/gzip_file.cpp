#include "lowbit/data/gzip_file.h"

#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>

#include "lowbit/util/atomic_file.h"

namespace lowbit::data {

std::string read_maybe_gzipped(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw util::FileError(path + ": no such file (expected a regular file)");
  }
  // gzopen reads files without a gzip header transparently, so one path serves both kinds.
  std::unique_ptr<gzFile_s, int (*)(gzFile)> file(gzopen(path.c_str(), "rb"), gzclose);
  if (!file) throw util::FileError(path + ": cannot open: " + std::strerror(errno));
  std::string content;
  constexpr unsigned kChunk = 1u << 20;
  std::string chunk(kChunk, '\0');
  for (;;) {
    const int got = gzread(file.get(), chunk.data(), kChunk);
    if (got < 0) {
      int code = 0;
      const char* message = gzerror(file.get(), &code);
      throw util::FileError(path + ": corrupt or unreadable gzip data: " + message);
    }
    if (got == 0) break;
    content.append(chunk.data(), static_cast<size_t>(got));
  }
  // A gzip stream cut short reads as end of file; gzerror reports it as Z_BUF_ERROR.
  int code = Z_OK;
  const char* message = gzerror(file.get(), &code);
  if (code != Z_OK && code != Z_STREAM_END) {
    throw util::FileError(path + ": truncated or corrupt gzip data: " + message);
  }
  return content;
}

}  // namespace lowbit::data
