#include "lowbit/export/ops/concat.h"

#include "lowbit/export/c/c_text.h"
#include "lowbit/export/model_cost.h"
#include "lowbit/export/ops/op_support.h"

namespace lowbit::exporter {

using Traits = OpTraits<Concat>;

Shape Traits::output_shape(const ValidateContext& c, const Concat& cat) {
  const std::string& name = c.layer.name;
  if (cat.inputs.size() != c.layer.inputs.size()) {
    ops::fail(name, "has " + std::to_string(c.layer.inputs.size()) + " inputs but " +
                        std::to_string(cat.inputs.size()) + " rescales");
  }
  Shape out{0, c.in[0].height, c.in[0].width};
  for (size_t i = 0; i < c.in.size(); ++i) {
    if (c.in[i].height != out.height || c.in[i].width != out.width) {
      ops::shape_mismatch(c.model, c.layer, c.layer.inputs[i], c.in[i],
                          "HxW " + std::to_string(out.height) + "x" + std::to_string(out.width) +
                              " like its first input");
    }
    out.channels += c.in[i].channels;
    if (cat.inputs[i].multiplier < 0 || cat.inputs[i].shift < -31 || cat.inputs[i].shift > 30) {
      ops::fail(name, "rescale of input " + std::to_string(i) + " is out of range");
    }
  }
  return out;
}

void Traits::run(const RunContext& c, const Concat& cat) {
  c.out.clear();
  for (size_t k = 0; k < c.inputs.size(); ++k) {
    for (int8_t q : *c.inputs[k]) {
      c.out.push_back(reference_requantize(q - c.input_zero_points[k], cat.inputs[k].multiplier,
                                           cat.inputs[k].shift, c.layer.output_zero_point, -128,
                                           127));
    }
  }
}

void Traits::cost(const CostContext&, const Concat& cat, LayerCost& cost) {
  cost.requant_bytes = 8 * static_cast<int64_t>(cat.inputs.size());
}

bool Traits::emit_c(const CEmitContext& c, const Concat& cat) {
  const Layer& layer = c.model.layers[c.index];
  c.body << "  {\n    const lowbit_concat_input_t parts[" << layer.inputs.size() << "] = {\n";
  for (size_t k = 0; k < layer.inputs.size(); ++k) {
    const int producer = layer.inputs[k];
    const int64_t length = producer == kModelInput ? c.model.input_shape.size()
                                                   : c.shapes[static_cast<size_t>(producer)].size();
    c.body << "        {" << c_text::producer_expr(c.plan, producer) << ", " << length << ", "
           << input_zero_point_of(c.model, producer) << ", " << cat.inputs[k].multiplier << ", "
           << cat.inputs[k].shift << "}" << (k + 1 < layer.inputs.size() ? "," : "") << "\n";
  }
  c.body << "    };\n    status = lowbit_concat_s8(parts, " << layer.inputs.size() << ", "
         << layer.output_zero_point << ", " << c.output << ", " << c.shapes[c.index].size()
         << ");\n  }\n";
  return true;
}

void Traits::describe(const JsonContext&, const Concat& cat, nlohmann::json& j) {
  nlohmann::json parts = nlohmann::json::array();
  for (const ConcatInput& part : cat.inputs) {
    parts.push_back({{"multiplier", part.multiplier}, {"shift", part.shift}});
  }
  j["rescale"] = parts;
}

std::vector<int32_t*> Traits::multipliers(Concat& cat) {
  std::vector<int32_t*> all;
  for (ConcatInput& input : cat.inputs) all.push_back(&input.multiplier);
  return all;
}

}  // namespace lowbit::exporter
