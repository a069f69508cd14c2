#include "lowbit/export/c/c_text.h"

#include <cctype>

#include "lowbit/export/packing.h"

namespace lowbit::exporter::c_text {

std::string upper(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

std::string format_enum(WeightFormat format) {
  return "LOWBIT_FORMAT_" + upper(format_name(format));
}

std::string requant_init(const std::string& symbol, const Requant& r, int32_t zero_point) {
  std::ostringstream out;
  out << "{" << symbol << "_multiplier, " << symbol << "_shift, " << r.multiplier.size() << ", "
      << zero_point << ", " << r.act_min << ", " << r.act_max << "}";
  return out.str();
}

std::string layer_data(const std::string& symbol, const std::string& name, WeightFormat format,
                       const std::vector<int8_t>& weights, int64_t rows, int64_t row_length,
                       const std::vector<int32_t>& bias, const Requant& requant) {
  std::string out;
  out += c_array("uint8_t", symbol + "_weights",
                 pack_weights(format, weights, rows, row_length, name), true);
  if (!bias.empty()) out += c_array("int32_t", symbol + "_bias", bias, false);
  out += c_array("int32_t", symbol + "_multiplier", requant.multiplier, false);
  out += c_array("int32_t", symbol + "_shift", requant.shift, false);
  return out;
}

std::string buffer_expr(const BufferView& view, size_t index) {
  switch (view.kind) {
    case BufferKind::kModelInput:
      return "input + " + std::to_string(view.offset);
    case BufferKind::kArena:
      return "arena + " + std::to_string(view.offset);
    case BufferKind::kModelOutput:
      return "output";
    case BufferKind::kState:
      return "state->l" + std::to_string(index) + "_sum";
  }
  return "";
}

std::string producer_expr(const MemoryPlan& plan, int producer) {
  return producer == kModelInput ? std::string("input + 0")
                                 : buffer_expr(plan.outputs[static_cast<size_t>(producer)],
                                               static_cast<size_t>(producer));
}

std::string bias_expr(const std::string& symbol, const std::vector<int32_t>& bias) {
  return bias.empty() ? std::string("NULL") : symbol + "_bias";
}

}  // namespace lowbit::exporter::c_text
