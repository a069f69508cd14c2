// A full disk on demand for the tests of what a failed write leaves behind, shared by the suites.
#pragma once

#include <sys/resource.h>

#include <csignal>

namespace lowbit::testing {

/// Lowers this process's file size limit (RLIMIT_FSIZE) with SIGXFSZ ignored, so a write past
/// `bytes` fails with EFBIG as on a full disk; restores both when it goes out of scope.
class FileSizeLimit {
 public:
  /// Lowers the limit to `bytes`; ok() says whether that worked.
  explicit FileSizeLimit(rlim_t bytes) {
    ::getrlimit(RLIMIT_FSIZE, &old_);
    old_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    rlimit lowered = old_;
    lowered.rlim_cur = bytes;
    ok_ = ::setrlimit(RLIMIT_FSIZE, &lowered) == 0;
  }
  /// Restores the limit and the signal handler.
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &old_);
    std::signal(SIGXFSZ, old_handler_);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;
  /// Whether the lower limit is in force.
  bool ok() const { return ok_; }

 private:
  rlimit old_{};
  void (*old_handler_)(int) = nullptr;
  bool ok_ = false;
};

}  // namespace lowbit::testing
