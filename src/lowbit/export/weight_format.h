// The packed weight formats of the integer model. Their facts (bits, code range, encoding) are
// the runtime's own traits table (runtime/src/formats.c), read through lowbit_format_traits, so
// the exporter and the C it writes cannot disagree.
#pragma once

#include <string>

namespace lowbit::exporter {

/// Packed weight formats; values equal the runtime's lowbit_format_t (docs/runtime.md).
enum class WeightFormat { kInt8 = 0, kInt4 = 1, kInt2 = 2, kBinary = 3, kSym2 = 4, kSym4 = 5 };

/// Every weight format, in enum order.
inline constexpr WeightFormat kAllWeightFormats[] = {WeightFormat::kInt8, WeightFormat::kInt4,
                                                     WeightFormat::kInt2, WeightFormat::kBinary,
                                                     WeightFormat::kSym2, WeightFormat::kSym4};

/// Stable lower-case name of a format ("int8", "int4", "int2", "binary", "sym2", "sym4").
const char* format_name(WeightFormat format);

/// Bits per stored weight of a format (1, 2, 4 or 8).
int format_bits(WeightFormat format);

/// Whether the format stores odd codes 2i - (2^bits - 1) (binary, sym2, sym4).
bool format_is_odd_grid(WeightFormat format);

/// Smallest code of a format.
int format_code_min(WeightFormat format);

/// Largest code of a format.
int format_code_max(WeightFormat format);

/// Whether `code` is representable in `format` (in range, and odd for odd-grid formats).
bool format_has_code(WeightFormat format, int code);

/// The format for a weight bit width; `odd_grid` picks binary/sym2/sym4 over two's complement.
/// Throws std::invalid_argument naming `layer_name` for bit widths without a format (e.g. 3, or
/// 8 with odd_grid, or 1 without).
WeightFormat format_for_bits(int bits, bool odd_grid, const std::string& layer_name);

}  // namespace lowbit::exporter
