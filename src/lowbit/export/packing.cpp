#include "lowbit/export/packing.h"

#include <stdexcept>

#include "lowbit_runtime.h"

namespace lowbit::exporter {

int64_t packed_row_bytes(WeightFormat format, int64_t row_length) {
  if (row_length < 1) return 0;
  return static_cast<int64_t>(lowbit_packed_row_bytes(static_cast<lowbit_format_t>(format),
                                                      static_cast<size_t>(row_length)));
}

int64_t packed_size(WeightFormat format, int64_t rows, int64_t row_length) {
  if (rows < 1) return 0;
  return rows * packed_row_bytes(format, row_length);
}

std::vector<uint8_t> pack_weights(WeightFormat format, const std::vector<int8_t>& codes,
                                  int64_t rows, int64_t row_length, const std::string& layer_name) {
  if (rows < 1 || row_length < 1 || static_cast<int64_t>(codes.size()) != rows * row_length) {
    throw std::invalid_argument("layer '" + layer_name + "': cannot pack " +
                                std::to_string(codes.size()) + " codes as " + std::to_string(rows) +
                                "x" + std::to_string(row_length));
  }
  // The runtime's packer only says "out of range"; find the code first to name it.
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t j = 0; j < row_length; ++j) {
      const int code = codes[static_cast<size_t>(r * row_length + j)];
      if (!format_has_code(format, code)) {
        throw std::invalid_argument("layer '" + layer_name + "': code " + std::to_string(code) +
                                    " at row " + std::to_string(r) + " column " +
                                    std::to_string(j) + " is not representable in format " +
                                    format_name(format));
      }
    }
  }
  std::vector<uint8_t> packed(static_cast<size_t>(packed_size(format, rows, row_length)), 0);
  const lowbit_status_t status = lowbit_pack_weights(
      static_cast<lowbit_format_t>(format), codes.data(), static_cast<size_t>(rows),
      static_cast<size_t>(row_length), packed.data(), packed.size());
  if (status != LOWBIT_OK) {
    throw std::invalid_argument("layer '" + layer_name + "': the runtime packer refused " +
                                std::to_string(rows) + "x" + std::to_string(row_length) +
                                " codes of format " + format_name(format) + ": " +
                                lowbit_status_name(status));
  }
  return packed;
}

}  // namespace lowbit::exporter
