#include "lowbit/export/ops/fully_connected.h"

#include "lowbit/export/c/c_text.h"
#include "lowbit/export/export_folder.h"
#include "lowbit/export/mcu_fully_connected.h"
#include "lowbit/export/model_cost.h"
#include "lowbit/export/ops/op_support.h"
#include "lowbit/export/target.h"
#include "lowbit_runtime.h"

namespace lowbit::exporter {

using Traits = OpTraits<FullyConnected>;

Shape Traits::output_shape(const ValidateContext& c, const FullyConnected& fc) {
  const std::string& name = c.layer.name;
  ops::check_dense(c, fc.in_features, fc.out_features, fc.format, fc.weights);
  ops::check_bias_and_requant(name, fc.bias, fc.requant, fc.out_features);
  return {fc.out_features, 1, 1};
}

void Traits::run(const RunContext& c, const FullyConnected& fc) {
  c.out.resize(static_cast<size_t>(fc.out_features));
  for (int64_t o = 0; o < fc.out_features; ++o) {
    c.out[static_cast<size_t>(o)] =
        ops::requantize_with(fc.requant, o, c.layer.output_zero_point,
                             ops::dense_sum(c, fc.weights, fc.bias, fc.in_features, o));
  }
}

void Traits::cost(const CostContext& c, const FullyConnected& fc, LayerCost& cost) {
  cost.macs = fc.in_features * fc.out_features;
  if (c.target.family == KernelFamily::kMcu && mcu_fc_supported(c.model, c.index)) {
    const McuFullyConnected mcu = mcu_fully_connected(c.model, c.index);
    cost.weight_bytes = static_cast<int64_t>(mcu.columns.size());
    cost.bias_bytes =
        static_cast<int64_t>(mcu.constants.size()) * (mcu.constants_fit_int16 ? 2 : 4);
    cost.requant_bytes = 5 * static_cast<int64_t>(mcu.m.size());
    return;
  }
  ops::weighted_cost(cost, fc.format, fc.out_features, fc.in_features, fc.bias, fc.requant);
}

int64_t Traits::portable_scratch_bytes(const FullyConnected& fc) {
  lowbit_fc_params_t params{};
  params.batch = 1;
  params.in_features = static_cast<size_t>(fc.in_features);
  params.out_features = static_cast<size_t>(fc.out_features);
  params.weight_format = static_cast<lowbit_format_t>(static_cast<int>(fc.format));
  return static_cast<int64_t>(lowbit_fc_scratch_size(&params));
}

bool Traits::emit_c(const CEmitContext& c, const FullyConnected& fc) {
  const Layer& layer = c.model.layers[c.index];
  const std::string& s = c.symbol;
  c.data << "/* Layer " << c.index << " '" << c_comment_safe(layer.name) << "': " << fc.in_features
         << " -> " << fc.out_features << ", " << format_name(fc.format) << ". */\n";
  if (c.mcu_index != SIZE_MAX) {
    c.data << mcu_fc_data(c.mcu_layers, c.mcu_index, s) << "\n";
    c.body << "  lowbit_mcu_fc_run(&" << s << "_layer, " << c.input << ", " << c.output
           << ", arena + " << c.plan.arena_bytes << ");\n\n";
    return false;
  }
  c.data << c_text::layer_data(s, layer.name, fc.format, fc.weights, fc.out_features,
                               fc.in_features, fc.bias, fc.requant);
  c.data << "static const lowbit_fc_params_t " << s << "_params = {1, " << fc.in_features << ", "
         << fc.out_features << ", " << c.input_zero_point << ", " << c_text::format_enum(fc.format)
         << ", " << c_text::requant_init(s, fc.requant, layer.output_zero_point) << "};\n\n";
  c.body << "  status = lowbit_fully_connected_s8(&" << s << "_params, " << c.input << ", " << s
         << "_weights, sizeof(" << s << "_weights), " << c_text::bias_expr(s, fc.bias) << ", "
         << c.output << ", arena + " << c.plan.arena_bytes << ", " << c.plan.kernel_scratch_bytes
         << ");\n";
  return true;
}

void Traits::describe(const JsonContext& c, const FullyConnected& fc, nlohmann::json& j) {
  j["in_features"] = fc.in_features;
  j["out_features"] = fc.out_features;
  ops::describe_weights(j, fc.format, fc.bias, fc.requant, fc.activation, fc.weight_scales);
  const bool mcu = c.target.family == KernelFamily::kMcu && mcu_fc_supported(c.model, c.index);
  j["kernel"] = mcu ? "mcu_column" : "runtime";
  if (mcu) j["skip"] = exporter::value_floor(c.model, c.model.layers[c.index].inputs[0]);
}

std::vector<int32_t*> Traits::multipliers(FullyConnected& fc) {
  std::vector<int32_t*> all;
  for (int32_t& m : fc.requant.multiplier) all.push_back(&m);
  return all;
}

}  // namespace lowbit::exporter
