#include "lowbit/export/target.h"

#include <stdexcept>
#include <utility>

namespace lowbit::exporter {

namespace {

CrossToolchain riscv(std::vector<std::string> arch_flags, std::string startup) {
  CrossToolchain t;
  t.compiler = "riscv64-unknown-elf-gcc";
  t.compiler_package = "gcc-riscv64-unknown-elf";
  t.arch_flags = std::move(arch_flags);
  t.size_tool = "riscv64-unknown-elf-size";
  t.emulator = "qemu-riscv32";
  t.emulator_package = "qemu-user";
  t.startup = std::move(startup);
  return t;
}

CrossToolchain arm(const std::string& cpu) {
  CrossToolchain t;
  t.compiler = "arm-none-eabi-gcc";
  t.compiler_package = "gcc-arm-none-eabi";
  t.arch_flags = {"-mcpu=" + cpu, "-mthumb", "-mfloat-abi=soft"};
  t.size_tool = "arm-none-eabi-size";
  t.emulator = "qemu-arm";
  // User-mode qemu runs Linux binaries on an A-profile CPU; "max" executes every Thumb
  // instruction the M-profile cores have, and the compiler's -mcpu keeps the code to them.
  t.emulator_flags = {"-cpu", "max"};
  t.emulator_package = "qemu-user";
  t.startup = "arm";
  return t;
}

std::vector<Target> make_targets() {
  std::vector<Target> targets;
  Target portable;
  portable.name = "portable";
  portable.summary = "plain C99 for any compiler (the runtime with LOWBIT_PORTABLE)";
  targets.push_back(portable);

  Target x86;
  x86.name = "x86";
  x86.summary = "x86-64: the runtime's SSE2 kernels and AVX2 copies picked at run time";
  x86.portable_runtime = false;
  targets.push_back(x86);

  // The MCU targets differ only in name, summary and cross toolchain.
  const auto mcu = [](std::string name, std::string summary, CrossToolchain cross) {
    Target t;
    t.name = std::move(name);
    t.summary = std::move(summary);
    t.family = KernelFamily::kMcu;
    t.requant_32bit = true;
    t.cross = std::move(cross);
    return t;
  };
  targets.push_back(mcu("rv32e", "RISC-V RV32EC (CH32V003 class: no multiplier, 16 registers)",
                        riscv({"-march=rv32ec", "-mabi=ilp32e"}, "riscv-e")));
  targets.push_back(mcu("rv32im", "RISC-V RV32IMC (a core with a multiplier)",
                        riscv({"-march=rv32imc", "-mabi=ilp32"}, "riscv")));
  targets.push_back(mcu("cortex-m0", "Arm Cortex-M0/M0+ (ARMv6-M, Thumb)", arm("cortex-m0")));
  targets.push_back(mcu("cortex-m4", "Arm Cortex-M4 (ARMv7E-M, Thumb-2 with the DSP extension)",
                        arm("cortex-m4")));
  return targets;
}

}  // namespace

const std::vector<Target>& all_targets() {
  static const std::vector<Target> targets = make_targets();
  return targets;
}

std::string target_names() {
  std::string names;
  for (const Target& t : all_targets()) names += (names.empty() ? "" : ", ") + t.name;
  return names;
}

const Target& target_named(const std::string& name) {
  for (const Target& t : all_targets()) {
    if (t.name == name) return t;
  }
  throw std::invalid_argument("unknown export target '" + name.substr(0, 64) +
                              "' (expected one of: " + target_names() + ")");
}

const Target& default_target() {
  return all_targets().front();
}

}  // namespace lowbit::exporter
