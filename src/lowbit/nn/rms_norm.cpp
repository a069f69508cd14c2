#include "lowbit/nn/rms_norm.h"

#include <stdexcept>
#include <string>
#include <utility>

namespace lowbit::nn {

RMSNormOptions::RMSNormOptions(std::vector<int64_t> normalized_shape)
    : normalized_shape_(std::move(normalized_shape)) {}

RMSNormImpl::RMSNormImpl(const RMSNormOptions& options_) : options(options_) {
  reset();
}

void RMSNormImpl::reset() {
  if (options.normalized_shape().empty()) {
    throw std::invalid_argument("RMSNorm: normalized_shape must name at least one dimension");
  }
  if (options.elementwise_affine()) {
    weight = register_parameter("weight", torch::empty(options.normalized_shape()));
  } else {
    weight = register_parameter("weight", {}, /*requires_grad=*/false);
  }
  reset_parameters();
}

void RMSNormImpl::reset_parameters() {
  if (weight.defined()) {
    torch::NoGradGuard no_grad;
    weight.fill_(1.0);
  }
}

void RMSNormImpl::pretty_print(std::ostream& stream) const {
  stream << "lowbit::nn::RMSNorm(" << torch::IntArrayRef(options.normalized_shape())
         << ", eps=" << options.eps() << ", elementwise_affine=" << std::boolalpha
         << options.elementwise_affine() << ")";
}

torch::Tensor RMSNormImpl::forward(const torch::Tensor& input) {
  const auto& shape = options.normalized_shape();
  const int64_t n = static_cast<int64_t>(shape.size());
  if (input.dim() < n || input.sizes().slice(input.dim() - n) != torch::IntArrayRef(shape)) {
    throw std::invalid_argument("RMSNorm: input of shape " + c10::str(input.sizes()) +
                                " does not end in normalized_shape " +
                                c10::str(torch::IntArrayRef(shape)));
  }
  std::vector<int64_t> dims;
  for (int64_t d = input.dim() - n; d < input.dim(); ++d) dims.push_back(d);
  const torch::Tensor y =
      input * torch::rsqrt(input.pow(2).mean(dims, /*keepdim=*/true) + options.eps());
  return weight.defined() ? y * weight : y;
}

}  // namespace lowbit::nn
