// Weight packing for the exporter (docs/runtime.md, "Packing layout"): the runtime's own packer
// (lowbit_pack_weights) behind errors that name the layer and the offending code.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lowbit/export/integer_model.h"

namespace lowbit::exporter {

/// Bytes of one packed row: ceil(row_length * bits / 8).
int64_t packed_row_bytes(WeightFormat format, int64_t row_length);

/// Bytes of a packed [rows][row_length] matrix: rows * packed_row_bytes().
int64_t packed_size(WeightFormat format, int64_t rows, int64_t row_length);

/// Packs row-major [rows][row_length] codes. Throws std::invalid_argument naming `layer_name`
/// if the count is not rows * row_length or a code is not representable in the format.
std::vector<uint8_t> pack_weights(WeightFormat format, const std::vector<int8_t>& codes,
                                  int64_t rows, int64_t row_length,
                                  const std::string& layer_name = "weights");

}  // namespace lowbit::exporter
