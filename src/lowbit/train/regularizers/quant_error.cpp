#include "lowbit/train/regularizers/quant_error.h"

#include "lowbit/train/quantize/layer_weights.h"

namespace lowbit::train {

torch::Tensor quantization_error(torch::nn::Module& model) {
  torch::Tensor total = torch::zeros({});
  int64_t count = 0;
  for (const LayerWeight& layer : layer_weights(model, true)) {
    torch::Tensor quantized = layer.quantizer->forward(layer.weight.detach());
    total = total + (layer.weight - quantized).pow(2).sum().to(total.device());
    count += layer.weight.numel();
  }
  return count == 0 ? total : total / static_cast<double>(count);
}

}  // namespace lowbit::train
