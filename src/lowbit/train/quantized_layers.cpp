#include "lowbit/train/quantized_layers.h"

#include "lowbit/nn/qconv2d.h"
#include "lowbit/nn/qlinear.h"

namespace lowbit::train {

std::vector<LayerWeight> layer_weights(torch::nn::Module& model, bool quantized_only) {
  std::vector<LayerWeight> out;
  for (const auto& item : model.named_modules()) {
    torch::nn::Module* module = item.value().get();
    LayerWeight entry;
    if (auto* linear = dynamic_cast<nn::QLinearImpl*>(module)) {
      entry = LayerWeight{item.key(), linear->weight, linear->weight_quant()};
    } else if (auto* conv = dynamic_cast<nn::QConv2dImpl*>(module)) {
      entry = LayerWeight{item.key(), conv->weight, conv->weight_quant()};
    } else {
      continue;
    }
    if (quantized_only && !entry.quantizer) continue;
    out.push_back(std::move(entry));
  }
  return out;
}

}  // namespace lowbit::train
