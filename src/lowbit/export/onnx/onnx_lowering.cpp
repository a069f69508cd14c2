#include "lowbit/export/onnx/onnx_lowering.h"

#include <cmath>
#include <stdexcept>
#include <string>

#include "lowbit/export/lowering/requantization.h"

namespace lowbit::exporter {

namespace {

std::vector<double> scales_from_requant(const IntegerModel& model, const Layer& layer,
                                        const Requant& requant, Activation activation) {
  const double input_scale = input_scale_of(model, layer.inputs[0]);
  const double fold = activation == Activation::kHardSigmoid ? 6.0 : 1.0;
  std::vector<double> scales;
  for (size_t c = 0; c < requant.multiplier.size(); ++c) {
    const double factor = multiplier_value({requant.multiplier[c], requant.shift[c]});
    scales.push_back(factor * fold * layer.output_scale / input_scale);
  }
  return scales;
}

std::vector<double> pick_scales(const IntegerModel& model, const Layer& layer,
                                const Requant& requant, Activation activation,
                                const std::vector<double>& recorded) {
  std::vector<double> implied = scales_from_requant(model, layer, requant, activation);
  if (recorded.size() != implied.size()) return implied;
  for (size_t c = 0; c < implied.size(); ++c) {
    if (!(std::abs(recorded[c] - implied[c]) <= 1e-6 * implied[c])) return implied;
  }
  return recorded;
}

}  // namespace

void onnx_refuse(const Layer& layer) {
  const char* reason =
      visit_op(layer.op, [](auto traits, const auto&) { return decltype(traits)::onnx_refusal(); });
  const std::string why =
      reason != nullptr ? std::string(reason)
                        : std::string("the ") + op_table_name(layer.op) +
                              " op (decoders and spiking sequence models) is not written by the "
                              "ONNX backends";
  throw std::invalid_argument("onnx: layer '" + layer.name + "': " + why +
                              "; export it with --format c");
}

std::vector<double> onnx_weight_scales(const IntegerModel& model, int layer_index) {
  const Layer& layer = model.layers.at(static_cast<size_t>(layer_index));
  return std::visit(
      OpVisitor{
          [&](const FullyConnected& fc) {
            return pick_scales(model, layer, fc.requant, fc.activation, fc.weight_scales);
          },
          [&](const Conv2d& conv) {
            return pick_scales(model, layer, conv.requant, conv.activation, conv.weight_scales);
          },
          [&](const auto&) -> std::vector<double> {
            throw std::invalid_argument("onnx: layer '" + layer.name + "' has no weights");
          },
      },
      layer.op);
}

std::vector<int64_t> onnx_dims(const Shape& shape, int rank) {
  if (rank == 4) return {shape.channels, shape.height, shape.width};
  return {shape.size()};
}

bool onnx_layer_computes(const Layer& layer) {
  return visit_op(layer.op, [&](auto traits, const auto&) {
    if (!decltype(traits)::kOnnx) onnx_refuse(layer);
    return !decltype(traits)::kView;
  });
}

OnnxRanks onnx_ranks(const IntegerModel& model) {
  OnnxRanks ranks;
  const bool image = model.input_shape.height > 1 || model.input_shape.width > 1;
  bool read_spatially = false;
  for (const Layer& layer : model.layers) {
    const bool spatial =
        std::holds_alternative<Conv2d>(layer.op) || std::holds_alternative<Pool>(layer.op);
    for (int producer : layer.inputs) read_spatially |= spatial && producer == kModelInput;
  }
  ranks.input = image || read_spatially ? 4 : 2;
  const auto rank_of = [&](int producer) {
    return producer == kModelInput ? ranks.input : ranks.layers[static_cast<size_t>(producer)];
  };
  for (const Layer& layer : model.layers) {
    const int rank = std::visit(OpVisitor{
                                    [](const FullyConnected&) { return 2; },
                                    [](const Conv2d&) { return 4; },
                                    [](const Pool&) { return 4; },
                                    [](const Flatten&) { return 2; },
                                    [](const Slice&) { return 2; },
                                    [&](const Concat&) {
                                      for (int producer : layer.inputs) {
                                        if (rank_of(producer) != 4) return 2;
                                      }
                                      return 4;
                                    },
                                    [&](const auto& op) -> int { onnx_unwritten(layer, op); },
                                },
                                layer.op);
    ranks.layers.push_back(rank);
  }
  return ranks;
}

}  // namespace lowbit::exporter
