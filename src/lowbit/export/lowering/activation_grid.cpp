#include "lowbit/export/lowering/activation_grid.h"

#include <torch/nn/module.h>

#include <stdexcept>

namespace lowbit::exporter::lowering {

void fail(const std::string& layer, const std::string& what) {
  throw std::invalid_argument("convert: layer '" + layer + "': " + what);
}

namespace {

// An input of the layer's shape; with a static scale, any input gives the grid.
torch::Tensor probe_for(const Shape& shape) {
  const int64_t n = shape.size();
  torch::Tensor t = torch::linspace(-1.0, 1.0, n);
  if (shape.height == 1 && shape.width == 1) return t.reshape({1, shape.channels});
  return t.reshape({1, shape.channels, shape.height, shape.width});
}

}  // namespace

Grid activation_grid(const quant::Quantizer& quantizer, const Shape& shape,
                     const std::string& layer) {
  // The quantizer says whether its scale is fixed; the integer model fixes it at export.
  if (!quantizer->scale_is_static()) {
    fail(layer,
         "activation quantizer's scale depends on the data; use a learned or observed range");
  }
  const quant::IntegerForm small = quantizer->integer_form(probe_for(shape));
  if (small.levels.defined())
    fail(layer, "activation quantizer is a codebook, not an integer grid");
  if (small.scale.numel() != 1) fail(layer, "activation quantizer is per-channel; need per-tensor");
  const double scale = small.scale.item<double>();
  const int64_t zp = small.zero_point.item<int64_t>();
  if (small.code_max - small.code_min > 255) {
    fail(layer, "activation quantizer has " + std::to_string(small.bits) +
                    " bits; an int8-compatible grid (at most 256 codes) is required");
  }
  // Shift the codes into int8 when the grid is unsigned (e.g. 0..255).
  const int64_t offset = small.code_min < -128 || small.code_max > 127 ? -128 - small.code_min : 0;
  Grid grid;
  grid.scale = scale;
  grid.q_min = static_cast<int32_t>(small.code_min + offset);
  grid.q_max = static_cast<int32_t>(small.code_max + offset);
  if (zp + offset < -128 || zp + offset > 127) {
    fail(layer, "activation zero point " + std::to_string(zp) + " does not fit int8");
  }
  grid.zero_point = static_cast<int32_t>(zp + offset);
  return grid;
}

Activation activation_of(const nn::QActivationImpl& act, const std::string& layer) {
  const std::string& f = act.options.function();
  if (f == "none") return Activation::kNone;
  if (f == "relu") return Activation::kRelu;
  if (f == "relu6") return Activation::kRelu6;
  if (f == "hard_sigmoid") return Activation::kHardSigmoid;
  fail(layer, "activation '" + f + "' has no integer form (use relu, relu6 or hard_sigmoid)");
}

}  // namespace lowbit::exporter::lowering
