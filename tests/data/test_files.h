// Helpers for data tests: a private temporary folder and small file writers.
#pragma once

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "lowbit/util/atomic_file.h"

namespace lowbit::data::testing {

/// The message of the util::FileError that `call` throws; adds a test failure when it throws none.
template <class F>
std::string file_error_of(F&& call) {
  try {
    call();
  } catch (const util::FileError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a util::FileError";
  return "";
}

/// Whether the error `message` contains `part`.
inline bool mentions(const std::string& message, const std::string& part) {
  return message.find(part) != std::string::npos;
}

/// A fresh folder under the system temp folder, removed with its content on destruction.
class TempDir {
 public:
  /// Creates lowbit_data_<tag>_<random>.
  explicit TempDir(const std::string& tag) {
    std::string templ =
        (std::filesystem::temp_directory_path() / ("lowbit_data_" + tag + "_XXXXXX")).string();
    if (mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed: " + templ);
    path_ = templ;
  }
  /// Removes the folder and its content.
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  /// Not copyable: one owner removes the folder.
  TempDir(const TempDir&) = delete;
  /// Not copyable: one owner removes the folder.
  TempDir& operator=(const TempDir&) = delete;
  /// The folder joined with `name`.
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  /// The folder.
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;  ///< The folder.
};

/// Writes `bytes` to `path` as they are.
inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

/// Writes `bytes` to `path` gzip-compressed.
inline void write_gzip(const std::string& path, const std::string& bytes) {
  gzFile file = gzopen(path.c_str(), "wb");
  if (file == nullptr) throw std::runtime_error("cannot write " + path);
  const int written = gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(file);
  if (written != static_cast<int>(bytes.size())) throw std::runtime_error("gzwrite " + path);
}

/// A big-endian 32-bit value as 4 bytes.
inline std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

/// The process's peak resident memory so far, in MiB (it never decreases).
inline long peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024;
}

/// A gzip file of `copies` concatenated members, each 16 MiB of zeros: about 16 KiB on disk per
/// 16 MiB inflated, a decompression bomb for readers that inflate before checking sizes.
inline std::string gzip_zeros(int copies) {
  std::string member;
  {
    z_stream s{};
    deflateInit2(&s, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY);
    const std::string zeros(size_t{16} << 20, '\0');
    member.resize(deflateBound(&s, zeros.size()));
    s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(zeros.data()));
    s.avail_in = static_cast<uInt>(zeros.size());
    s.next_out = reinterpret_cast<Bytef*>(member.data());
    s.avail_out = static_cast<uInt>(member.size());
    deflate(&s, Z_FINISH);
    member.resize(s.total_out);
    deflateEnd(&s);
  }
  std::string out;
  for (int i = 0; i < copies; ++i) out += member;
  return out;
}

}  // namespace lowbit::data::testing
