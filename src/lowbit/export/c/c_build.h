// Building an export folder with the system C compiler, running it on a batch, and verifying its
// outputs against the C++ reference executor.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lowbit/export/integer_model.h"

namespace lowbit::exporter {

/// How to compile an export.
struct CBuildOptions {
  std::string compiler = "cc";  ///< C compiler command.
  /// Flags; the defaults are the strict set every export must pass.
  std::vector<std::string> flags = {"-std=c99", "-O2", "-Wall", "-Wextra", "-Wvla", "-Werror"};
};

/// The text of the driver main.c for a prefix: reads int8 samples back to back from argv[1],
/// runs <prefix>_predict on each and writes the int8 outputs back to back to argv[2]; prints the
/// runtime status name and exits 2 on a runtime error.
std::string generate_driver(const std::string& prefix);

/// Compiles export folder `export_folder` (model.c, runtime/src/*.c) with a generated driver
/// into `build_folder`/model_driver and returns the executable's path. Throws
/// lowbit::util::FileError with the compiler's output if compilation fails.
std::string build_export(const std::string& export_folder, const std::string& prefix,
                         const std::string& build_folder, const CBuildOptions& options = {});

/// Runs a driver built by build_export on `samples` inputs stored back to back and returns the
/// outputs back to back. Files go to `work_folder`. Throws lowbit::util::FileError if the driver
/// fails or writes other than samples * output_size bytes.
std::vector<int8_t> run_export(const std::string& executable, const std::vector<int8_t>& inputs,
                               int64_t samples, int64_t output_size,
                               const std::string& work_folder);

/// One differing output value.
struct Mismatch {
  int64_t sample = 0;  ///< Sample index in the batch.
  int64_t index = 0;   ///< Output element index within the sample.
  int expected = 0;    ///< Reference value.
  int actual = 0;      ///< Value the C code produced.
};

/// Result of comparing C outputs with the reference.
struct VerifyReport {
  int64_t samples = 0;               ///< Samples compared.
  int64_t values = 0;                ///< Output values compared.
  std::vector<Mismatch> mismatches;  ///< Every differing value.
  /// True when nothing differs.
  bool ok() const { return mismatches.empty(); }
  /// One line per mismatch ("sample S index I: expected E, got A") after a summary line.
  std::string describe() const;
};

/// Compares outputs back to back (equal sizes required), exactly.
VerifyReport compare_outputs(const std::vector<int8_t>& expected, const std::vector<int8_t>& actual,
                             int64_t output_size);

/// Builds `export_folder` into `build_folder`, runs it on the batch and compares with the
/// ReferenceExecutor of `model` exactly.
VerifyReport verify_export(const IntegerModel& model, const std::string& export_folder,
                           const std::string& prefix, const std::vector<int8_t>& inputs,
                           int64_t samples, const std::string& build_folder,
                           const CBuildOptions& options = {});

}  // namespace lowbit::exporter
