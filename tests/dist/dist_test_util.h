// Helpers of the data-parallel tests: this test program runs itself as the workers of a job
// (one gtest per worker role), with the launcher of `lowbit train --nproc`.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "lowbit/dist/c10d_communicator.h"
#include "lowbit/dist/launcher.h"

namespace lowbit::dist::testing {

/// Set in the workers' environment; a worker test skips itself without it.
inline constexpr const char* kWorkerVariable = "LOWBIT_DIST_TEST_OUT";

/// The folder a worker writes its findings to, or "" outside a job.
inline std::string worker_out() {
  const char* out = std::getenv(kWorkerVariable);
  return out == nullptr ? "" : out;
}

/// Runs the gtest `test` of this program as `nproc` workers writing to `out`; their exit code.
inline int run_workers(const std::string& test, int nproc, const std::string& out,
                       Timeouts timeouts = {}) {
  ::setenv(kWorkerVariable, out.c_str(), 1);
  std::ostringstream log;
  const int code =
      launch_local_workers({"--gtest_filter=" + test, "--gtest_brief=1"}, nproc, log, timeouts);
  ::unsetenv(kWorkerVariable);
  if (code != 0) std::cerr << log.str();
  return code;
}

/// A fresh folder for the workers' findings, removed at the end of the test.
class WorkDir {
 public:
  /// Creates the folder.
  WorkDir() {
    path_ = ::testing::TempDir() + "lowbit_dist_XXXXXX";
    if (::mkdtemp(path_.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  }
  /// Removes it.
  ~WorkDir() { std::filesystem::remove_all(path_); }
  /// Its path.
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

/// The whole text of a file ("" when missing).
inline std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace lowbit::dist::testing
