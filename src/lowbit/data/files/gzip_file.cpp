#include "lowbit/data/files/gzip_file.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>

#include "lowbit/util/atomic_file.h"

namespace lowbit::data {

MaybeGzippedReader::MaybeGzippedReader(const std::string& path)
    : path_(path), file_(nullptr, gzclose) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (std::filesystem::is_directory(status)) {
    throw util::FileError(path + ": is a folder (expected a regular file)");
  }
  if (!std::filesystem::is_regular_file(status)) {
    throw util::FileError(path + ": no such file (expected a regular file)");
  }
  file_size_ = std::filesystem::file_size(path, ec);
  if (ec) throw util::FileError(path + ": cannot read its size: " + ec.message());
  // gzopen reads files without a gzip header transparently, so one path serves both kinds.
  file_.reset(gzopen(path.c_str(), "rb"));
  if (!file_) throw util::FileError(path + ": cannot open: " + std::strerror(errno));
}

size_t MaybeGzippedReader::read(std::string& out, size_t n) {
  size_t total = 0;
  constexpr size_t kChunk = size_t{1} << 20;
  while (total < n) {
    const size_t want = std::min(n - total, kChunk);
    const size_t at = out.size();
    out.resize(at + want);
    const int got = gzread(file_.get(), out.data() + at, static_cast<unsigned>(want));
    if (got < 0) {
      int code = 0;
      const char* message = gzerror(file_.get(), &code);
      throw util::FileError(path_ + ": corrupt or unreadable gzip data: " + message);
    }
    out.resize(at + static_cast<size_t>(got));
    total += static_cast<size_t>(got);
    if (static_cast<size_t>(got) < want) {
      // A gzip stream cut short reads as end of file; gzerror reports it as Z_BUF_ERROR.
      int code = Z_OK;
      const char* message = gzerror(file_.get(), &code);
      if (code != Z_OK && code != Z_STREAM_END) {
        throw util::FileError(path_ + ": truncated or corrupt gzip data: " + message);
      }
      break;
    }
  }
  return total;
}

bool MaybeGzippedReader::compressed() const {
  return gzdirect(file_.get()) == 0;
}

uint64_t MaybeGzippedReader::max_content() const {
  if (!compressed()) return file_size_;
  if (file_size_ > std::numeric_limits<uint64_t>::max() / kMaxDeflateRatio) {
    return std::numeric_limits<uint64_t>::max();
  }
  return file_size_ * kMaxDeflateRatio;
}

std::string read_maybe_gzipped(const std::string& path) {
  MaybeGzippedReader reader(path);
  std::string content;
  while (reader.read(content, size_t{1} << 20) > 0) {
  }
  return content;
}

}  // namespace lowbit::data
