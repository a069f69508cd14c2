#include "lowbit/train/methods/weight_report.h"

#include <cmath>
#include <cstdio>

#include "lowbit/train/quantize/layer_weights.h"

namespace lowbit::train {

double weight_entropy_bits(const quant::IntegerForm& form) {
  torch::Tensor codes = form.codes.reshape({-1}).to(torch::kCPU, torch::kLong);
  if (codes.numel() == 0) return 0.0;
  torch::Tensor counts = std::get<2>(torch::unique_consecutive(
      std::get<0>(torch::sort(codes)), /*return_inverse=*/false, /*return_counts=*/true));
  torch::Tensor p = counts.to(torch::kDouble) / static_cast<double>(codes.numel());
  return -(p * torch::log2(p)).sum().item<double>();
}

std::vector<LayerWeightReport> weight_report(torch::nn::Module& model) {
  std::vector<LayerWeightReport> out;
  torch::NoGradGuard no_grad;
  for (const LayerWeight& layer : layer_weights(model, true)) {
    LayerWeightReport r;
    r.name = layer.name;
    r.bits = layer.quantizer->bits();
    r.clip = layer.quantizer->levels(layer.weight).abs().max().item<double>();
    r.entropy = weight_entropy_bits(layer.quantizer->integer_form(layer.weight));
    r.frozen = layer.quantizer->frozen();
    out.push_back(r);
  }
  return out;
}

std::string format_weight_report(const std::vector<LayerWeightReport>& report) {
  std::string line;
  for (const LayerWeightReport& r : report) {
    char buffer[64];
    std::snprintf(buffer, sizeof(buffer), "%.3f/%.2f", r.clip, r.entropy);
    line += (line.empty() ? "" : " ") + std::string(buffer);
  }
  return line;
}

}  // namespace lowbit::train
