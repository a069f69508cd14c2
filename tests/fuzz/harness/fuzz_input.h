// Shared by the libFuzzer harnesses: hands the fuzzer's bytes to readers that take a path, and
// turns an exception the parser does not document into a crash the fuzzer reports.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <string>

namespace lowbit::fuzz {

/// One file per process under $TMPDIR (or /tmp), rewritten for every input and removed at exit.
class InputFile {
 public:
  /// Names the file after the harness and the process, so parallel jobs do not share it.
  explicit InputFile(const std::string& tag, const std::string& suffix = "") {
    const char* dir = std::getenv("TMPDIR");
    path_ = std::string(dir != nullptr && *dir != '\0' ? dir : "/tmp") + "/lowbit_fuzz_" + tag +
            "_" + std::to_string(getpid()) + suffix;
  }
  /// Removes the file.
  ~InputFile() { std::remove(path_.c_str()); }
  /// Not copyable: one owner removes the file.
  InputFile(const InputFile&) = delete;
  /// Not copyable: one owner removes the file.
  InputFile& operator=(const InputFile&) = delete;

  /// Replaces the file's content with `size` bytes at `data` and returns its path.
  const std::string& write(const uint8_t* data, size_t size) {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    out.close();
    if (!out) {
      std::fprintf(stderr, "fuzz harness: cannot write %s\n", path_.c_str());
      std::abort();
    }
    return path_;
  }

 private:
  std::string path_;
};

/// Aborts (a crash for libFuzzer) with the exception's type and message: the parser let through an
/// error type its contract does not name, e.g. a raw c10::Error or std::bad_alloc.
[[noreturn]] inline void undocumented(const char* harness, const std::exception& e) {
  std::fprintf(stderr, "%s: undocumented exception: %s\n", harness, e.what());
  std::abort();
}

/// Aborts when a documented error message does not contain `name` (the file or source it must
/// name so that the user knows which input is wrong).
inline void expect_named(const char* harness, const std::exception& e, const std::string& name) {
  if (std::string(e.what()).find(name) == std::string::npos) {
    std::fprintf(stderr, "%s: error does not name '%s': %s\n", harness, name.c_str(), e.what());
    std::abort();
  }
}

}  // namespace lowbit::fuzz
