// Fully connected layers on the MCU column kernels of runtime/mcu (docs/runtime.md, "MCU
// kernels"): the weights as unsigned fields stored input-major, the per-output constants that
// fold the bias, the input zero point and the skipped input value, and the 32-bit requantization.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lowbit/export/integer_model.h"

namespace lowbit::exporter {

/// A fully connected layer as the MCU kernels compute it:
///   d_i = x_i - skip >= 0, S_j = sum_i d_i f_ij, D = sum_i d_i,
///   acc_j = constant_j + base * D + 2^step_shift * S_j
/// which equals bias_j + sum_i (x_i - zp) w_ij for w_ij = base + 2^step_shift * f_ij.
struct McuFullyConnected {
  int32_t skip = -128;    ///< Input value whose column costs nothing (the producer's floor).
  int bits = 8;           ///< Bits per field (1, 2, 4 or 8).
  int32_t base = 0;       ///< Weight of field 0 (the format's smallest code).
  int step_shift = 0;     ///< log2 of the code step: 1 for odd grids (binary, sym), else 0.
  int64_t row_bytes = 0;  ///< Bytes per input: ceil(out_features * bits / 8).
  std::vector<uint8_t> columns;     ///< Fields, input-major (row_bytes per input), LSB first.
  std::vector<int32_t> constants;   ///< constant_j, one per output.
  bool constants_fit_int16 = false;  ///< Every constant_j fits int16 (stored as int16).
  std::vector<int32_t> m;            ///< Short multipliers (1 or one per output).
  std::vector<uint8_t> r;            ///< Right shifts, same count as m, in [1, 31].
};

/// Whether layer `index` (a fully connected layer) runs on the MCU kernels: its sums stay exact
/// in int32 and its requantization fits 32 bits (requant_fits_32bit). Other layers fall back to
/// the runtime's lowbit_fully_connected_s8.
bool mcu_fc_supported(const IntegerModel& model, size_t index);

/// The MCU form of fully connected layer `index` (mcu_fc_supported must hold).
McuFullyConnected mcu_fully_connected(const IntegerModel& model, size_t index);

/// Scratch bytes the MCU kernels of a fully connected layer need: the int32 sums, the kernel's
/// work words (runtime/mcu's LOWBIT_MCU_FC_WORK_WORDS) and 3 bytes to align them.
int64_t mcu_fc_scratch_bytes(const FullyConnected& fc);

/// Flash bytes of the MCU form: columns, constants (int16 or int32), multipliers and shifts.
int64_t mcu_fc_flash_bytes(const McuFullyConnected& mcu);

/// C data definitions of the MCU form, symbols `<symbol>_columns`, `_constants`, `_m`, `_r`.
std::string mcu_fc_data(const McuFullyConnected& mcu, const std::string& symbol);

/// The C of lowbit_mcu_fc_layer_t and lowbit_mcu_fc_run for a model's MCU layers: one runner
/// that calls only the kernels these layers use.
std::string mcu_fc_runner(const std::vector<McuFullyConnected>& layers);

/// The runner's descriptor `<symbol>_layer` of one layer (after mcu_fc_data's arrays).
std::string mcu_fc_descriptor(const McuFullyConnected& mcu, const FullyConnected& fc,
                              const std::string& symbol, int32_t output_zero_point);

}  // namespace lowbit::exporter
