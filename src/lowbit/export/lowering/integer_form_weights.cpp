#include "lowbit/export/lowering/integer_form_weights.h"

#include <stdexcept>

namespace lowbit::exporter {

namespace {

[[noreturn]] void fail(const std::string& layer, const std::string& what) {
  throw std::invalid_argument("layer '" + layer + "': " + what);
}

}  // namespace

LayerWeights weights_from_integer_form(const quant::IntegerForm& form, int64_t out_channels,
                                       const std::string& layer_name) {
  if (!form.codes.defined() || form.codes.dim() < 1) fail(layer_name, "weight codes are missing");
  if (form.levels.defined()) {
    fail(layer_name, "codebook weights (levels) have no integer runtime format");
  }
  if (form.codes.size(0) != out_channels) {
    fail(layer_name, "weight codes have " + std::to_string(form.codes.size(0)) +
                         " output channels, expected " + std::to_string(out_channels));
  }
  if (form.zero_point.defined() && form.zero_point.numel() > 0 &&
      form.zero_point.ne(0).any().item<bool>()) {
    fail(layer_name,
         "weights must be symmetric (zero point 0); the runtime has no weight zero "
         "point");
  }
  const int64_t scale_count = form.scale.numel();
  if (form.axis == -1 ? scale_count != 1 : (form.axis != 0 || scale_count != out_channels)) {
    fail(layer_name, "weight scales must be per tensor or per output channel (axis 0 with " +
                         std::to_string(out_channels) + " scales), got axis " +
                         std::to_string(form.axis) + " with " + std::to_string(scale_count));
  }
  const int64_t odd_limit = (int64_t{1} << form.bits) - 1;
  const bool odd_grid = form.bits < 8 && form.code_min == -odd_limit && form.code_max == odd_limit;
  LayerWeights weights;
  weights.format = format_for_bits(form.bits, odd_grid, layer_name);
  const torch::Tensor codes = form.codes.to(torch::kInt32).contiguous().flatten();
  const int32_t* data = codes.data_ptr<int32_t>();
  weights.codes.reserve(static_cast<size_t>(codes.numel()));
  for (int64_t i = 0; i < codes.numel(); ++i) {
    if (!format_has_code(weights.format, data[i])) {
      fail(layer_name, "weight code " + std::to_string(data[i]) + " at index " + std::to_string(i) +
                           " is not representable in format " + format_name(weights.format));
    }
    weights.codes.push_back(static_cast<int8_t>(data[i]));
  }
  const torch::Tensor scales = form.scale.to(torch::kFloat64).contiguous().flatten();
  for (int64_t i = 0; i < scales.numel(); ++i) {
    weights.scales.push_back(scales.data_ptr<double>()[i]);
  }
  return weights;
}

}  // namespace lowbit::exporter
