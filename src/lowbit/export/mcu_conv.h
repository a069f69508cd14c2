// Convolutions on the MCU kernels of runtime/mcu: a full conv's patch at each output position is
// the input of a fully connected layer in column form whose outputs are the channels
// (lowbit_mcu_conv, reusing the sums kernels, their zero skipping and 32-bit requantization); a
// depthwise conv keeps one column row per tap (lowbit_mcu_conv_depthwise).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "lowbit/export/integer_model.h"
#include "lowbit/export/mcu_fully_connected.h"
#include "lowbit/export/target.h"

namespace lowbit::exporter {

/// A conv2d layer (with the max pool fused after it, if any) in MCU form.
struct McuConv {
  McuFullyConnected columns;   ///< The patch-to-channels layer: fields, constants, m and r.
  bool depthwise = false;      ///< groups = in = out channels: lowbit_mcu_conv_depthwise.
  const Pool* pool = nullptr;  ///< The fused max pool, or none.
};

/// The MCU form of conv2d layer `index`, or nothing where it must stay on the portable runtime:
/// grouped convolutions other than full (groups 1) and depthwise (groups = in = out channels),
/// sizes past the descriptor's 8- and 16-bit fields, sums or requantization that do not fit 32
/// bits. `fused_pool` is the max pool fused after it, if any.
std::optional<McuConv> mcu_conv_form(const IntegerModel& model, size_t index,
                                     const Pool* fused_pool);

/// mcu_conv_form for layer `index` of an export for `target` (with the max pool the memory plan
/// fuses after it); nothing for targets other than MCUs and for layers other than conv2d.
std::optional<McuConv> mcu_conv_on(const Target& target, const IntegerModel& model, size_t index);

/// Scratch bytes of lowbit_mcu_conv, or lowbit_mcu_conv_depthwise for a depthwise `conv`.
int64_t mcu_conv_scratch_bytes(const Conv2d& conv);

/// model.c's data for the layer: the columns, constants, multipliers and shifts, and the
/// `<symbol>_mcu` descriptor that lowbit_mcu_conv reads.
std::string mcu_conv_data(const std::string& symbol, const Conv2d& conv, const McuConv& mcu,
                          int32_t input_zero_point, const Layer& layer);

}  // namespace lowbit::exporter
