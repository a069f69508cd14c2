#include "lowbit/export/ops/add.h"

#include <algorithm>

#include "lowbit/export/c/c_text.h"
#include "lowbit/export/model_cost.h"
#include "lowbit/export/ops/op_support.h"

namespace lowbit::exporter {

using Traits = OpTraits<Add>;

int8_t reference_add(int32_t a, int32_t b, const Add& add, int32_t zero_point) {
  // |a|, |b| <= 255 and multipliers < 2^31: the sum is exact in int64 (|sum| < 2^40).
  const int64_t sum =
      static_cast<int64_t>(a) * add.multiplier_a + static_cast<int64_t>(b) * add.multiplier_b;
  const int right = 31 - add.shift;
  const uint64_t magnitude =
      sum < 0 ? static_cast<uint64_t>(-(sum + 1)) + 1 : static_cast<uint64_t>(sum);
  const uint64_t rounded = (magnitude + (uint64_t{1} << (right - 1))) >> right;
  const int64_t y = sum < 0 ? -static_cast<int64_t>(rounded) : static_cast<int64_t>(rounded);
  return static_cast<int8_t>(std::clamp<int64_t>(y + zero_point, add.act_min, add.act_max));
}

Shape Traits::output_shape(const ValidateContext& c, const Add& add) {
  const std::string& name = c.layer.name;
  if (c.in[1] != c.in[0]) {
    ops::shape_mismatch(c.model, c.layer, c.layer.inputs[1], c.in[1], shape_text(c.in[0]));
  }
  if (add.multiplier_a < 0 || add.multiplier_b < 0 || add.shift < -31 || add.shift > 30) {
    ops::fail(name, "rescale (multipliers " + std::to_string(add.multiplier_a) + ", " +
                        std::to_string(add.multiplier_b) + ", shift " + std::to_string(add.shift) +
                        ") is out of range");
  }
  if (add.act_min < -128 || add.act_max > 127 || add.act_min > add.act_max) {
    ops::fail(name, "clamp [" + std::to_string(add.act_min) + ", " + std::to_string(add.act_max) +
                        "] is not within [-128, 127]");
  }
  return c.in[0];
}

void Traits::run(const RunContext& c, const Add& add) {
  const std::vector<int8_t>& a = *c.inputs[0];
  const std::vector<int8_t>& b = *c.inputs[1];
  c.out.resize(a.size());
  for (size_t k = 0; k < a.size(); ++k) {
    c.out[k] = reference_add(a[k] - c.input_zero_points[0], b[k] - c.input_zero_points[1], add,
                             c.layer.output_zero_point);
  }
}

void Traits::cost(const CostContext& c, const Add&, LayerCost& cost) {
  cost.requant_bytes = 12;
  cost.macs = 2 * c.shapes[c.index].size();
}

bool Traits::emit_c(const CEmitContext& c, const Add& add) {
  const Layer& layer = c.model.layers[c.index];
  const int producer_b = layer.inputs[1];
  c.data << "static const lowbit_add_params_t " << c.symbol << "_params = {" << c.input_zero_point
         << ", " << input_zero_point_of(c.model, producer_b) << ", " << add.multiplier_a << ", "
         << add.multiplier_b << ", " << add.shift << ", " << layer.output_zero_point << ", "
         << add.act_min << ", " << add.act_max << "};\n\n";
  c.body << "  status = lowbit_add_s8(&" << c.symbol << "_params, " << c.input << ", "
         << c_text::producer_expr(c.plan, producer_b) << ", " << c.output << ", "
         << c.shapes[c.index].size() << ");\n";
  return true;
}

void Traits::describe(const JsonContext&, const Add& add, nlohmann::json& j) {
  j["rescale"] = {{{"multiplier", add.multiplier_a}, {"shift", add.shift}},
                  {{"multiplier", add.multiplier_b}, {"shift", add.shift}}};
  j["clamp"] = {add.act_min, add.act_max};
  j["activation"] = activation_name(add.activation);
}

}  // namespace lowbit::exporter
