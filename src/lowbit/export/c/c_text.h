// Pieces of C text the C backend and the ops' C emission share.
#pragma once

#include <cstdint>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "lowbit/export/integer_model.h"
#include "lowbit/export/memory_plan.h"

namespace lowbit::exporter::c_text {

/// The text in upper case (macro names).
std::string upper(std::string text);

/// "static const <type> <name>[n] = {...};" with 16 values per line, hex bytes or decimals.
template <typename T>
std::string c_array(const char* type, const std::string& name, const std::vector<T>& values,
                    bool hex) {
  std::ostringstream out;
  out << "static const " << type << " " << name << "[" << values.size() << "] = {";
  for (size_t i = 0; i < values.size(); ++i) {
    out << (i % 16 == 0 ? "\n    " : " ");
    if (hex) {
      char buffer[8];
      std::snprintf(buffer, sizeof(buffer), "0x%02X", static_cast<unsigned>(values[i]));
      out << buffer;
    } else if (static_cast<int64_t>(values[i]) == INT32_MIN) {
      out << "INT32_MIN";  // -2147483648 is not an int literal in C
    } else {
      out << static_cast<int64_t>(values[i]);
    }
    out << (i + 1 < values.size() ? "," : "");
  }
  out << "\n};\n";
  return out.str();
}

/// "LOWBIT_FORMAT_<NAME>" of a weight format.
std::string format_enum(WeightFormat format);

/// The lowbit_requant_t initialiser of a layer whose constants are <symbol>_multiplier/_shift.
std::string requant_init(const std::string& symbol, const Requant& r, int32_t zero_point);

/// The packed weights, biases (if any), multipliers and shifts of a weighted layer as C arrays.
std::string layer_data(const std::string& symbol, const std::string& name, WeightFormat format,
                       const std::vector<int8_t>& weights, int64_t rows, int64_t row_length,
                       const std::vector<int32_t>& bias, const Requant& requant);

/// The C expression of layer `index`'s output buffer.
std::string buffer_expr(const BufferView& view, size_t index);

/// The C expression of what `producer` outputs (the model input or a layer's buffer).
std::string producer_expr(const MemoryPlan& plan, int producer);

/// "NULL" for no bias, else "<symbol>_bias".
std::string bias_expr(const std::string& symbol, const std::vector<int32_t>& bias);

}  // namespace lowbit::exporter::c_text
