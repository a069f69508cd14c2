// Test helpers for running the built `lowbit` binary and looking at what it did.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>

#include "lowbit/quant/registry.h"
#include "lowbit/util/atomic_file.h"

namespace lowbit::cli::testing {

/// What one run of the binary printed and returned.
struct RunResult {
  int code = -1;    ///< Exit status.
  std::string out;  ///< Standard output.
  std::string err;  ///< Standard error.
};

/// The binary: $LOWBIT_BIN (ctest sets it), else `lowbit` beside the test program.
inline std::string lowbit_bin() {
  if (const char* bin = std::getenv("LOWBIT_BIN")) return bin;
  char self[4096];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
  std::string path(self, n > 0 ? static_cast<size_t>(n) : 0);
  return path.substr(0, path.rfind('/') + 1) + "lowbit";
}

/// The source root: $LOWBIT_SOURCE_DIR (ctest sets it), else the one the build was configured for.
inline std::string source_dir() {
  if (const char* dir = std::getenv("LOWBIT_SOURCE_DIR")) return dir;
  return LOWBIT_SOURCE_DIR;
}

/// A fresh temporary folder, removed at the end of the test.
class TempDir {
 public:
  /// Creates the folder.
  TempDir() {
    std::string pattern = ::testing::TempDir() + "lowbit_cli_XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  /// Removes the folder and everything in it.
  ~TempDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
  /// A path inside the folder.
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }
  /// The folder itself.
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

/// `path` in single quotes, for the shell text of run_lowbit() (test paths hold no quote).
inline std::string quoted(const std::string& path) {
  return "'" + path + "'";
}

/// Runs `lowbit ARGS` (ARGS is shell text) and captures its output and exit status.
inline RunResult run_lowbit(const std::string& args) {
  TempDir dir;
  const std::string command =
      "'" + lowbit_bin() + "' " + args + " >'" + (dir / "out") + "' 2>'" + (dir / "err") + "'";
  const int status = std::system(command.c_str());
  RunResult r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = util::read_file(dir / "out");
  r.err = util::read_file(dir / "err");
  return r;
}

/// True when a file exists at `path`.
inline bool exists(const std::string& path) {
  return ::access(path.c_str(), F_OK) == 0;
}

/// The number of entries in a folder, "." and ".." not counted.
inline int count_entries(const std::string& dir) {
  const std::string list = dir + "/.count";
  std::system(("ls -A '" + dir + "' | grep -vx .count | wc -l >'" + list + "'").c_str());
  const int n = std::stoi(util::read_file(list));
  std::remove(list.c_str());
  return n;
}

/// Writes `path`: a CSV (columns a, b, label) of 150 points in three separable classes of the
/// plane, without randomness, for the small runs the command tests train.
inline void write_three_class_csv(const std::string& path) {
  std::ofstream csv(path);
  csv << "a,b,label\n";
  for (int i = 0; i < 150; ++i) {
    const int label = i % 3;
    const double a = (label == 1 ? 1.0 : -1.0) + 0.01 * (i % 17) - 0.08;
    const double b = (label == 2 ? 1.0 : -1.0) - 0.01 * (i % 13) + 0.06;
    csv << a << "," << b << "," << label << "\n";
  }
}

/// Writes `path`: a CSV (columns a, b, label) of `rows` points in two separable classes on a
/// diagonal, without randomness, for the small runs the command tests train.
inline void write_two_class_csv(const std::string& path, int rows = 120) {
  std::ofstream csv(path);
  csv << "a,b,label\n";
  for (int i = 0; i < rows; ++i) {
    const int label = i % 2;
    const double a = (label ? 1.0 : -1.0) + 0.01 * (i % 17) - 0.08;
    const double b = (label ? 1.0 : -1.0) - 0.01 * (i % 13) + 0.06;
    csv << a << "," << b << "," << label << "\n";
  }
}

/// The head of a run config on a CSV file: `output: OUT` and a `data:` section that trains on
/// CSV (its `label` column the class); the model and stages follow in `rest`.
inline std::string csv_run_config(const std::string& out, const std::string& csv,
                                  const std::string& rest) {
  return "output: " + out + "\ndata: {source: csv, train: " + csv + ", label_column: label}\n" +
         rest;
}

/// The config of a small spiking optical-flow run (snn_flow on synthetic events, one FP stage of
/// two epochs) into run directory `out`; more stages may be appended to the text.
inline std::string small_flow_run_config(const std::string& out) {
  return "output: " + out + R"(
seed: 2
threads: 1
data: {source: events_synthetic, size: [16, 24], time_steps: 3, train_samples: 12,
       test_samples: 4, max_speed: 3, val_fraction: 0.25}
model: {type: snn_flow, base_channels: 4, time_steps: 3}
stages:
  - name: fp
    epochs: 2
    batch_size: 4
    optimizer: {type: adam, lr: 0.01}
    loss: {type: flow_epe}
    best: {metric: val_aee}
)";
}

/// The first registered type that quantizes weights and accepts `key` ("" for any), if any.
inline std::optional<quant::QuantizerType> weight_type_with(const std::string& key) {
  for (const auto& type : quant::quantizer_types()) {
    bool weight = false;
    for (const auto role : type.roles) weight = weight || role == quant::Role::kWeight;
    bool has_key = key.empty();
    for (const auto& p : type.params) has_key = has_key || p.name == key;
    if (weight && has_key) return type;
  }
  return std::nullopt;
}

}  // namespace lowbit::cli::testing
