#include "lowbit/export/packing.h"

#include <stdexcept>

namespace lowbit::exporter {

int64_t packed_row_bytes(WeightFormat format, int64_t row_length) {
  return (row_length * format_bits(format) + 7) / 8;
}

int64_t packed_size(WeightFormat format, int64_t rows, int64_t row_length) {
  return rows * packed_row_bytes(format, row_length);
}

uint8_t code_field(WeightFormat format, int code) {
  const int bits = format_bits(format);
  const int mask = (1 << bits) - 1;
  if (format_is_odd_grid(format)) return static_cast<uint8_t>((code + mask) / 2);
  return static_cast<uint8_t>(code & mask);
}

std::vector<uint8_t> pack_weights(WeightFormat format, const std::vector<int8_t>& codes,
                                  int64_t rows, int64_t row_length, const std::string& layer_name) {
  const int bits = format_bits(format);
  if (rows < 1 || row_length < 1 || static_cast<int64_t>(codes.size()) != rows * row_length) {
    throw std::invalid_argument("layer '" + layer_name + "': cannot pack " +
                                std::to_string(codes.size()) + " codes as " + std::to_string(rows) +
                                "x" + std::to_string(row_length));
  }
  const int64_t row_bytes = packed_row_bytes(format, row_length);
  std::vector<uint8_t> packed(static_cast<size_t>(rows * row_bytes), 0);
  for (int64_t r = 0; r < rows; ++r) {
    uint8_t* row = packed.data() + r * row_bytes;
    for (int64_t j = 0; j < row_length; ++j) {
      const int code = codes[static_cast<size_t>(r * row_length + j)];
      if (!format_has_code(format, code)) {
        throw std::invalid_argument("layer '" + layer_name + "': code " + std::to_string(code) +
                                    " at row " + std::to_string(r) + " column " +
                                    std::to_string(j) + " is not representable in format " +
                                    format_name(format));
      }
      const int64_t bit = j * bits;
      row[bit / 8] = static_cast<uint8_t>(row[bit / 8] | (code_field(format, code) << (bit % 8)));
    }
  }
  return packed;
}

}  // namespace lowbit::exporter
