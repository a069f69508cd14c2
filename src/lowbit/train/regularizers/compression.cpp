#include "lowbit/train/regularizers/compression.h"

#include "lowbit/quant/learned/self_compress.h"
#include "lowbit/train/quantize/layer_weights.h"

namespace lowbit::train {

torch::Tensor compression_bits(torch::nn::Module& model) {
  torch::Tensor total = torch::zeros({});
  int64_t count = 0;
  for (const LayerWeight& layer : layer_weights(model, true)) {
    auto* sc = dynamic_cast<quant::SelfCompressImpl*>(layer.quantizer.get());
    if (sc == nullptr) continue;
    const int64_t n = layer.weight.numel();
    torch::Tensor b = sc->effective_bits();
    total = total + (b.sum() * static_cast<double>(n / b.numel())).to(total.device());
    count += n;
  }
  return count == 0 ? total : total / static_cast<double>(count);
}

void freeze_bit_depths(torch::nn::Module& model) {
  for (const LayerWeight& layer : layer_weights(model, true)) {
    if (auto* sc = dynamic_cast<quant::SelfCompressImpl*>(layer.quantizer.get())) {
      sc->set_frozen(true);
    }
  }
}

}  // namespace lowbit::train
