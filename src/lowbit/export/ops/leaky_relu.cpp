#include "lowbit/export/ops/leaky_relu.h"

#include <algorithm>

#include "lowbit/export/model_cost.h"
#include "lowbit/export/ops/op_support.h"

namespace lowbit::exporter {

using Traits = OpTraits<LeakyRelu>;

int8_t reference_leaky_relu(int8_t x, int32_t zero_point, int32_t slope_q15) {
  if (x >= zero_point) return x;
  // (x - zp) * slope < 0: round half away from zero of its magnitude / 2^15.
  const int64_t magnitude =
      (static_cast<int64_t>(zero_point - x) * slope_q15 + (int64_t{1} << 14)) >> 15;
  return static_cast<int8_t>(std::clamp<int64_t>(zero_point - magnitude, -128, 127));
}

Shape Traits::output_shape(const ValidateContext& c, const LeakyRelu& leaky) {
  if (leaky.slope_q15 < 0 || leaky.slope_q15 > 32767) {
    ops::fail(c.layer.name,
              "slope_q15 " + std::to_string(leaky.slope_q15) + " is outside [0, 32767]");
  }
  return c.in[0];
}

void Traits::run(const RunContext& c, const LeakyRelu& leaky) {
  const std::vector<int8_t>& x = c.x();
  c.out.resize(x.size());
  for (size_t k = 0; k < x.size(); ++k) {
    c.out[k] = reference_leaky_relu(x[k], c.input_zp(), leaky.slope_q15);
  }
}

void Traits::cost(const CostContext&, const LeakyRelu&, LayerCost&) {}

bool Traits::emit_c(const CEmitContext& c, const LeakyRelu& leaky) {
  c.body << "  status = lowbit_leaky_relu_s8(" << c.input << ", " << c.input_zero_point << ", "
         << leaky.slope_q15 << ", " << c.output << ", " << c.shapes[c.index].size() << ");\n";
  return true;
}

void Traits::describe(const JsonContext&, const LeakyRelu& leaky, nlohmann::json& j) {
  j["slope_q15"] = leaky.slope_q15;
}

}  // namespace lowbit::exporter
