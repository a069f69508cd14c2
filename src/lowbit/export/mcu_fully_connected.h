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
  int32_t skip = -128;           ///< Input value whose column costs nothing (the producer's floor).
  int bits = 8;                  ///< Bits per field (1, 2, 4 or 8).
  int32_t base = 0;              ///< Weight of field 0 (the format's smallest code).
  int step_shift = 0;            ///< log2 of the code step: 1 for odd grids (binary, sym), else 0.
  int64_t row_bytes = 0;         ///< Bytes per input: ceil(out_features * bits / 8).
  std::vector<uint8_t> columns;  ///< Fields, input-major (row_bytes per input), LSB first.
  std::vector<int32_t> constants;    ///< constant_j, one per output.
  bool constants_fit_int16 = false;  ///< Every constant_j fits int16 (stored as int16).
  std::vector<int32_t> m;            ///< Short multipliers (1 or one per output).
  std::vector<uint8_t> r;            ///< Right shifts, same count as m, in [1, 31].
};

/// Whether the column sums of a dense layer with these weights and per-output constants of at
/// most `constant_bound` in magnitude keep every term and partial sum of the accumulator exact
/// in int32 (the kernels' precondition).
bool mcu_sums_fit_int32(WeightFormat format, int64_t in_features, int64_t constant_bound);

/// The column form of dense weights: fields input-major and the constants that fold `bias`, the
/// input zero point and the skipped value `skip`; no requantization (m and r empty).
McuFullyConnected mcu_columns(WeightFormat format, const std::vector<int8_t>& weights,
                              const std::vector<int32_t>& bias, int64_t in_features,
                              int64_t out_features, int32_t skip, int64_t zero_point);

/// Appends the short (32-bit) forms of `requant`'s multipliers and shifts to mcu.m and mcu.r.
void add_short_multipliers(McuFullyConnected& mcu, const Requant& requant);

/// Whether the column sums and the 32-bit requantization of fully connected or conv2d layer
/// `index` stay exact (requant_fits_32bit and mcu_sums_fit_int32 at its accumulator bounds).
bool mcu_dense_fits_32bit(const IntegerModel& model, size_t index);

/// Whether layer `index` (a fully connected layer) runs on the MCU kernels: its sums stay exact
/// in int32 and its requantization fits 32 bits (requant_fits_32bit). Other layers fall back to
/// the runtime's lowbit_fully_connected_s8.
bool mcu_fc_supported(const IntegerModel& model, size_t index);

/// The MCU form of fully connected layer `index` (mcu_fc_supported must hold).
McuFullyConnected mcu_fully_connected(const IntegerModel& model, size_t index);

/// Scratch bytes the MCU kernels of a dense layer need: the int32 sums, the kernel's work words
/// (runtime/mcu's LOWBIT_MCU_FC_WORK_WORDS) and 3 bytes to align them.
int64_t mcu_fc_scratch_bytes(WeightFormat format, int64_t out_features);

/// Flash bytes of the MCU form: columns, constants (int16 or int32), multipliers and shifts.
int64_t mcu_fc_flash_bytes(const McuFullyConnected& mcu);

/// A fully connected layer on the MCU kernels with the values its descriptor holds.
struct McuFcLayer {
  McuFullyConnected mcu;          ///< Weights, constants and requantization in MCU form.
  int64_t in_features = 0;        ///< Inputs.
  int64_t out_features = 0;       ///< Outputs.
  int32_t output_zero_point = 0;  ///< Zero point of the int8 output.
  int32_t act_min = -128;         ///< Smallest output code (the fused activation's floor).
  int32_t act_max = 127;          ///< Largest output code.
};

/// Layer `index` of `model` (mcu_fc_supported must hold) with its descriptor values.
McuFcLayer mcu_fc_layer(const IntegerModel& model, size_t index);

/// The C of lowbit_mcu_fc_layer_t and lowbit_mcu_fc_run for a model's MCU layers: the descriptor
/// holds only the fields that differ between these layers (the others are literals in the
/// runner), and the runner calls only the kernels and requantization variants they use.
std::string mcu_fc_runner(const std::vector<McuFcLayer>& layers);

/// The C array `name` of weight columns, word-aligned (LOWBIT_MCU_ALIGN4).
std::string mcu_column_array(const std::string& name, const std::vector<uint8_t>& columns);

/// C data of layer `k` of `layers`: its arrays (`<symbol>_columns`, `_constants`, and `_m`, `_r`
/// when multipliers are per channel) and its descriptor `<symbol>_layer`.
std::string mcu_fc_data(const std::vector<McuFcLayer>& layers, size_t k, const std::string& symbol);

}  // namespace lowbit::exporter
