// From a quantizer's IntegerForm (weights) to the codes, format and scales of an integer layer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lowbit/export/integer_model.h"
#include "lowbit/quant/integer_form.h"

namespace lowbit::exporter {

/// Weights of one layer in export form.
struct LayerWeights {
  WeightFormat format = WeightFormat::kInt8;  ///< Storage format chosen from bits and grid.
  std::vector<int8_t> codes;   ///< Row-major codes (the IntegerForm's codes, flattened).
  std::vector<double> scales;  ///< 1 (per tensor) or out_channels weight scales.
};

/// Converts the integer form of a weight tensor [out_channels][...] to export form.
///
/// The grid decides the format: codes spanning [-(2^bits - 1), 2^bits - 1] are an odd grid
/// (binary, sym2, sym4), others two's complement (int2, ternary in int2, int4, int8). Throws
/// std::invalid_argument naming `layer_name` for a codebook (levels) form, a non-zero weight zero
/// point, a per-channel axis other than 0, a bit width without a format, a code outside the
/// format, or a first dimension other than out_channels.
LayerWeights weights_from_integer_form(const quant::IntegerForm& form, int64_t out_channels,
                                       const std::string& layer_name);

}  // namespace lowbit::exporter
