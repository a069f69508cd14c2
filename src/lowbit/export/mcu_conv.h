// Convolutions on the MCU kernels of runtime/mcu: a full conv's patch at each output position is
// the input of a fully connected layer in column form whose outputs are the channels
// (lowbit_mcu_conv, reusing the sums kernels, their zero skipping and 32-bit requantization); a
// depthwise conv keeps one column row per tap (lowbit_mcu_conv_depthwise).
#pragma once

#include <cstdint>
#include <string>

#include "lowbit/export/integer_model.h"
#include "lowbit/export/mcu_fully_connected.h"
#include "lowbit/export/target.h"

namespace lowbit::exporter {

/// Whether conv2d layer `index` of an export for `target` runs on runtime/mcu (with the max pool
/// the memory plan fuses after it): an MCU target, a full (groups 1) or depthwise (groups = in =
/// out channels) conv, sizes within the descriptor's 8- and 16-bit fields, and sums and
/// requantization exact in 32 bits (mcu_dense_fits_32bit). False for every other layer.
bool mcu_conv_supported(const Target& target, const IntegerModel& model, size_t index);

/// The value the kernels skip for conv2d layer `index`: the smaller of its input's floor and
/// zero point, since the padding (the zero point) is a patch value too.
int32_t mcu_conv_skip(const IntegerModel& model, size_t index);

/// The column form of conv2d layer `index` (one row per tap of a channel's kernel, all input
/// channels for a full conv), its constants and short multipliers (mcu_conv_supported must hold).
McuFullyConnected mcu_conv_columns(const IntegerModel& model, size_t index);

/// Scratch bytes of lowbit_mcu_conv, or lowbit_mcu_conv_depthwise for a depthwise `conv`.
int64_t mcu_conv_scratch_bytes(const Conv2d& conv);

/// model.c's data for the layer: the columns, constants, multipliers and shifts, and the
/// `<symbol>_mcu` descriptor that lowbit_mcu_conv(_depthwise) reads; `pool` is the max pool fused
/// after it, or null.
std::string mcu_conv_data(const std::string& symbol, const Conv2d& conv,
                          const McuFullyConnected& columns, const Pool* pool,
                          int32_t input_zero_point, const Layer& layer);

}  // namespace lowbit::exporter
