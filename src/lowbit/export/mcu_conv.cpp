#include "lowbit/export/mcu_conv.h"

#include <algorithm>
#include <sstream>

#include "lowbit/export/c/c_text.h"
#include "lowbit/export/memory_plan.h"
#include "lowbit_mcu.h"

namespace lowbit::exporter {

namespace {

bool fits(int64_t value, int64_t largest) {
  return value >= 0 && value <= largest;
}

// Whether every size the descriptor stores fits its field (uint16 sizes, uint8 window values).
bool fits_descriptor(const Conv2d& conv, const Pool* pool) {
  for (const int64_t size : {conv.in_channels, conv.in_height, conv.in_width, conv.out_channels,
                             conv.out_height(), conv.out_width()}) {
    if (!fits(size, 65535)) return false;
  }
  for (const int64_t v :
       {conv.kernel_h, conv.kernel_w, conv.stride_h, conv.stride_w, conv.pad_top, conv.pad_left}) {
    if (!fits(v, 255)) return false;
  }
  if (pool == nullptr) return true;
  for (const int64_t v : {pool->kernel_h, pool->kernel_w, pool->stride_h, pool->stride_w,
                          pool->pad_top, pool->pad_left}) {
    if (!fits(v, 255)) return false;
  }
  return fits(pool->out_height(), 65535) && fits(pool->out_width(), 65535);
}

}  // namespace

bool mcu_conv_supported(const Target& target, const IntegerModel& model, size_t index) {
  if (target.family != KernelFamily::kMcu) return false;
  const auto* conv = std::get_if<Conv2d>(&model.layers[index].op);
  if (conv == nullptr) return false;
  const bool depthwise =
      conv->groups == conv->in_channels && conv->out_channels == conv->in_channels;
  if (conv->groups != 1 && !depthwise) return false;
  const Pool* pool =
      fuses_with_next(model, index) ? &std::get<Pool>(model.layers[index + 1].op) : nullptr;
  return fits_descriptor(*conv, pool) && mcu_dense_fits_32bit(model, index);
}

int32_t mcu_conv_skip(const IntegerModel& model, size_t index) {
  const int producer = model.layers[index].inputs[0];
  return std::min(value_floor(model, producer), input_zero_point_of(model, producer));
}

McuFullyConnected mcu_conv_columns(const IntegerModel& model, size_t index) {
  const Layer& layer = model.layers[index];
  const auto& conv = std::get<Conv2d>(layer.op);
  McuFullyConnected mcu =
      mcu_columns(conv.format, conv.weights, conv.bias, conv.row_length(), conv.out_channels,
                  mcu_conv_skip(model, index), input_zero_point_of(model, layer.inputs[0]));
  add_short_multipliers(mcu, conv.requant);
  return mcu;
}

int64_t mcu_conv_scratch_bytes(const Conv2d& conv) {
  if (conv.groups > 1) {
    return static_cast<int64_t>(LOWBIT_MCU_CONV_DEPTHWISE_SCRATCH_BYTES(
        static_cast<uint32_t>(conv.kernel_h), static_cast<uint32_t>(conv.kernel_w),
        static_cast<uint32_t>(conv.out_height()), static_cast<uint32_t>(conv.out_width())));
  }
  return static_cast<int64_t>(LOWBIT_MCU_CONV_SCRATCH_BYTES(
      static_cast<uint32_t>(conv.row_length()), static_cast<uint32_t>(conv.out_channels),
      static_cast<uint32_t>(format_bits(conv.format))));
}

std::string mcu_conv_data(const std::string& symbol, const Conv2d& conv, const McuFullyConnected& c,
                          const Pool* pool, int32_t input_zero_point, const Layer& layer) {
  std::ostringstream out;
  out << mcu_column_array(symbol + "_columns", c.columns)
      << c_text::c_array("int32_t", symbol + "_constants", c.constants, false)
      << c_text::c_array("int32_t", symbol + "_m", c.m, false)
      << c_text::c_array("uint8_t", symbol + "_r", c.r, false);
  // Field order of lowbit_mcu_conv_t (runtime/mcu/lowbit_mcu.h).
  // A depthwise conv reads its fields itself: no sums kernel.
  out << "static const lowbit_mcu_conv_t " << symbol << "_mcu = {"
      << (conv.groups > 1 ? std::string("NULL") : "lowbit_mcu_fc_sums_b" + std::to_string(c.bits))
      << ", " << symbol << "_columns, " << symbol << "_constants, " << symbol << "_m, " << symbol
      << "_r, " << conv.in_channels << ", " << conv.in_height << ", " << conv.in_width << ", "
      << conv.out_channels << ", " << conv.out_height() << ", " << conv.out_width() << ", "
      << (pool != nullptr ? pool->out_height() : conv.out_height()) << ", "
      << (pool != nullptr ? pool->out_width() : conv.out_width()) << ", " << conv.kernel_h << ", "
      << conv.kernel_w << ", " << conv.stride_h << ", " << conv.stride_w << ", " << conv.pad_top
      << ", " << conv.pad_left << ", ";
  if (pool != nullptr) {
    out << pool->kernel_h << ", " << pool->kernel_w << ", " << pool->stride_h << ", "
        << pool->stride_w << ", " << pool->pad_top << ", " << pool->pad_left << ", ";
  } else {
    out << "1, 1, 1, 1, 0, 0, ";
  }
  out << c.bits << ", " << c.step_shift << ", " << (c.m.size() > 1 ? 1 : 0) << ", " << c.base
      << ", " << c.skip << ", " << input_zero_point << ", " << layer.output_zero_point << ", "
      << conv.requant.act_min << ", " << conv.requant.act_max << "};\n\n";
  return out.str();
}

}  // namespace lowbit::exporter
