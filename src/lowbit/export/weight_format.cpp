#include "lowbit/export/weight_format.h"

#include <stdexcept>

#include "lowbit_runtime.h"

namespace lowbit::exporter {
namespace {

// WeightFormat is the C++ face of lowbit_format_t: the generated code and the traits lookups
// below cast one to the other.
static_assert(static_cast<int>(WeightFormat::kInt8) == LOWBIT_FORMAT_INT8);
static_assert(static_cast<int>(WeightFormat::kInt4) == LOWBIT_FORMAT_INT4);
static_assert(static_cast<int>(WeightFormat::kInt2) == LOWBIT_FORMAT_INT2);
static_assert(static_cast<int>(WeightFormat::kBinary) == LOWBIT_FORMAT_BINARY);
static_assert(static_cast<int>(WeightFormat::kSym2) == LOWBIT_FORMAT_SYM2);
static_assert(static_cast<int>(WeightFormat::kSym4) == LOWBIT_FORMAT_SYM4);
static_assert(sizeof(kAllWeightFormats) / sizeof(kAllWeightFormats[0]) == LOWBIT_FORMAT_COUNT);

const lowbit_format_traits_t& traits_of(WeightFormat format) {
  const lowbit_format_traits_t* traits = lowbit_format_traits(static_cast<lowbit_format_t>(format));
  if (traits == nullptr) {
    throw std::invalid_argument("unknown weight format value " +
                                std::to_string(static_cast<int>(format)));
  }
  return *traits;
}

}  // namespace

const char* format_name(WeightFormat format) {
  return traits_of(format).name;
}

int format_bits(WeightFormat format) {
  return traits_of(format).bits;
}

bool format_is_odd_grid(WeightFormat format) {
  return traits_of(format).encoding == LOWBIT_ENCODING_ODD_GRID;
}

int format_code_min(WeightFormat format) {
  return traits_of(format).code_min;
}

int format_code_max(WeightFormat format) {
  return traits_of(format).code_max;
}

bool format_has_code(WeightFormat format, int code) {
  traits_of(format);  // an unknown format throws rather than answering "no"
  return lowbit_format_has_code(static_cast<lowbit_format_t>(format), code) != 0;
}

WeightFormat format_for_bits(int bits, bool odd_grid, const std::string& layer_name) {
  for (WeightFormat format : kAllWeightFormats) {
    if (format_bits(format) == bits && format_is_odd_grid(format) == odd_grid) return format;
  }
  throw std::invalid_argument(
      "layer '" + layer_name + "': unsupported weight bit width " + std::to_string(bits) +
      (odd_grid ? " for an odd (symmetric half-integer) grid: expected 1, 2 or 4"
                : " for a two's complement grid: expected 2, 4 or 8"));
}

}  // namespace lowbit::exporter
