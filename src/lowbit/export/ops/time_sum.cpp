#include "lowbit/export/ops/time_sum.h"

#include <algorithm>
#include <cmath>

#include "lowbit/export/export_folder.h"
#include "lowbit/export/model_cost.h"
#include "lowbit/export/ops/op_support.h"

namespace lowbit::exporter {

using Traits = OpTraits<TimeSum>;

Shape Traits::output_shape(const ValidateContext& c, const TimeSum&) {
  const std::string& name = c.layer.name;
  if (c.model.time_steps < 1) ops::fail(name, "time_sum needs a sequence model (time_steps > 0)");
  const double expected =
      input_scale_of(c.model, c.producer) / static_cast<double>(c.model.time_steps);
  if (c.layer.output_zero_point != 0 ||
      std::abs(c.layer.output_scale - expected) > 1e-12 * expected) {
    ops::fail(name, "a time sum has zero point 0 and scale input_scale / time_steps = " +
                        std::to_string(expected));
  }
  return c.in[0];
}

void Traits::run(const RunContext& c, const TimeSum&) {
  // The running sum is the layer's output; it is complete after the last step.
  const std::vector<int8_t>& x = c.x();
  c.out.resize(x.size(), 0);
  for (size_t k = 0; k < x.size(); ++k) {
    c.out[k] = static_cast<int8_t>(std::clamp(c.out[k] + x[k] - c.input_zp(), -128, 127));
  }
}

void Traits::cost(const CostContext& c, const TimeSum&, LayerCost& cost) {
  cost.state_bytes = c.shapes[c.index].size();
  cost.output_bytes = 0;
}

bool Traits::emit_c(const CEmitContext& c, const TimeSum&) {
  c.body << "  status = lowbit_time_sum_s8(" << c.input << ", " << c.input_zero_point << ", "
         << c.output << ", " << c.shapes[c.index].size() << ");\n";
  return true;
}

void Traits::c_state_members(const CStateContext& c, const TimeSum&) {
  c.bytes << "  int8_t l" << c.index << "_sum[" << c.shapes[c.index].size()
          << "]; /**< Spike counts of '" << c_comment_safe(c.model.layers[c.index].name)
          << "'. */\n";
}

void Traits::describe(const JsonContext& c, const TimeSum&, nlohmann::json& j) {
  j["time_steps"] = c.model.time_steps;
}

}  // namespace lowbit::exporter
