#include "lowbit/train/quantize/layer_weights.h"

#include "lowbit/nn/quantized_layer.h"

namespace lowbit::train {

std::vector<LayerWeight> layer_weights(torch::nn::Module& model, bool quantized_only) {
  std::vector<LayerWeight> out;
  for (const auto& item : model.named_modules()) {
    auto* layer = dynamic_cast<nn::QuantizedLayer*>(item.value().get());
    if (layer == nullptr || !layer->weight_tensor().defined()) continue;
    LayerWeight entry{item.key(), layer->weight_tensor(), layer->weight_quant()};
    if (quantized_only && !entry.quantizer) continue;
    out.push_back(std::move(entry));
  }
  return out;
}

}  // namespace lowbit::train
