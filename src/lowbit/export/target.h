// Export targets: which kernels the generated C uses, how it is built and where it runs for
// verification (docs/export.md, "Targets"). Adding a target is one entry in target.cpp.
#pragma once

#include <string>
#include <vector>

namespace lowbit::exporter {

/// Which kernels the generated code calls.
enum class KernelFamily {
  kRuntime,  ///< The runtime's operators (runtime/src), plain C99 or with x86 SIMD copies.
  kMcu       ///< Fully connected layers on runtime/mcu's column kernels; the rest on the runtime.
};

/// How to cross-compile an export and run it under an instruction-set emulator.
struct CrossToolchain {
  std::string compiler;                     ///< C compiler command (e.g. riscv64-unknown-elf-gcc).
  std::string compiler_package;             ///< Debian package that provides it.
  std::vector<std::string> arch_flags;      ///< -march/-mabi or -mcpu/-mthumb.
  std::string size_tool;                    ///< binutils `size` of the toolchain.
  std::string emulator;                     ///< qemu-user binary (qemu-riscv32, qemu-arm).
  std::vector<std::string> emulator_flags;  ///< e.g. -cpu max.
  std::string emulator_package;             ///< Debian package that provides the emulator.
  /// Start-up flavour of the freestanding test image: "riscv-e" (syscall number in t0),
  /// "riscv" (in a7) or "arm" (r7, svc 0).
  std::string startup;
};

/// One export target.
struct Target {
  std::string name;     ///< Name on the command line (--target) and in model.json.
  std::string summary;  ///< One line for --help and docs.
  KernelFamily family = KernelFamily::kRuntime;  ///< Kernels the generated code calls.
  /// Compile the runtime with LOWBIT_PORTABLE (plain C99, no SIMD intrinsics).
  bool portable_runtime = true;
  /// Requantization multipliers rounded so that every accumulator times its multiplier fits in
  /// 32 bits (limit_requant_precision): cores without a 64-bit product need no 64-bit multiply.
  bool requant_32bit = false;
  /// Cross toolchain; empty compiler for targets built with the host compiler.
  CrossToolchain cross;

  /// Whether the target is built with a cross compiler and run under an emulator.
  bool is_cross() const { return !cross.compiler.empty(); }
};

/// Every target, the default (portable) first.
const std::vector<Target>& all_targets();

/// The target called `name`; throws std::invalid_argument naming it and the known targets.
const Target& target_named(const std::string& name);

/// The names of all targets, comma-separated (for messages and --help).
std::string target_names();

/// The default target: portable C99.
const Target& default_target();

}  // namespace lowbit::exporter
