// Building an export for a microcontroller target with Debian's cross compilers into a
// freestanding image, and running it under qemu-user: outputs, instructions per inference,
// flash and RAM (docs/export.md, "Targets").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lowbit/export/target.h"

namespace lowbit::exporter {

/// A linked image and its section sizes (binutils `size`, Berkeley format).
struct CrossImage {
  std::string elf;   ///< Path of the executable.
  int64_t text = 0;  ///< Code and read-only data (flash).
  int64_t data = 0;  ///< Initialized data (flash and RAM).
  int64_t bss = 0;   ///< Zeroed data (RAM): the driver's scratch, input and output buffers.

  /// Flash: text + data.
  int64_t flash() const { return text + data; }
};

/// Throws lowbit::util::FileError naming the Debian package to install when the target's cross
/// compiler, `size` or emulator is not on PATH. Host targets need nothing.
void require_cross_tools(const Target& target);

/// The freestanding test driver (C): reads int8 samples from stdin, writes the outputs to stdout,
/// and reports the stack high-water mark of the first prediction on stderr as
/// "lowbit-stack 0xBYTES" (hexadecimal: no division routine is linked).
std::string generate_freestanding_driver(const std::string& prefix);

/// The smallest application: main calls <prefix>_predict once on buffers in RAM (the image whose
/// flash and RAM are reported, as a device build of the model alone would need them).
std::string generate_minimal_main(const std::string& prefix);

/// Which driver an image is linked with.
enum class CrossDriver {
  kTest,    ///< generate_freestanding_driver: samples from stdin, outputs to stdout.
  kMinimal  ///< generate_minimal_main: one prediction, for flash and RAM figures.
};

/// The start-up and system-call stubs (assembly) for the target's qemu-user ABI, with the small
/// memset/memcpy the compiler may call.
std::string generate_startup(const Target& target);

/// Cross-compiles export `export_folder` with a driver for `target` (optimization
/// `optimization`, e.g. "-Os") into `build_folder`. Throws lowbit::util::FileError with the
/// compiler's output if it fails.
CrossImage build_for_target(const std::string& export_folder, const std::string& prefix,
                            const std::string& build_folder, const Target& target,
                            CrossDriver driver = CrossDriver::kTest,
                            const std::string& optimization = "-Os");

/// What one run of an image under the emulator gave.
struct TargetRun {
  std::vector<int8_t> outputs;  ///< Outputs back to back.
  int64_t stack_bytes = 0;      ///< Stack high-water mark of the first prediction.
};

/// Runs `image` under the target's emulator on `samples` inputs back to back.
TargetRun run_on_target(const CrossImage& image, const Target& target,
                        const std::vector<int8_t>& inputs, int64_t samples, int64_t output_size,
                        const std::string& work_folder);

/// Instructions one inference executes on the emulator: the trace of a run on `sample` minus that
/// of a run on no input (start-up, I/O), one trace line per instruction
/// (`-singlestep -d nochain,exec`).
int64_t count_instructions(const CrossImage& image, const Target& target,
                           const std::vector<int8_t>& sample, const std::string& work_folder);

}  // namespace lowbit::exporter
