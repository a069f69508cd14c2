#include "lowbit/nn/foldable_batch_norm.h"

#include <torch/autograd.h>

namespace lowbit::nn {

FoldableBatchNormImpl::FoldableBatchNormImpl(const torch::nn::BatchNormOptions& options_)
    : options(options_) {
  reset();
}

void FoldableBatchNormImpl::reset() {
  const int64_t c = options.num_features();
  if (options.affine()) {
    weight = register_parameter("weight", torch::ones({c}));
    bias = register_parameter("bias", torch::zeros({c}));
  }
  if (options.track_running_stats()) {
    running_mean = register_buffer("running_mean", torch::zeros({c}));
    running_var = register_buffer("running_var", torch::ones({c}));
    num_batches_tracked = register_buffer("num_batches_tracked", torch::zeros({}, torch::kLong));
  }
}

void FoldableBatchNormImpl::reset_running_stats() {
  if (!options.track_running_stats()) return;
  torch::NoGradGuard no_grad;
  running_mean.zero_();
  running_var.fill_(1);
  num_batches_tracked.zero_();
}

torch::Tensor FoldableBatchNormImpl::forward(const torch::Tensor& input) {
  if (folded_) return input;
  // The momentum rule of torch::nn::BatchNorm: nullopt means a cumulative average.
  double factor = 0.0;
  if (is_training() && options.track_running_stats()) {
    num_batches_tracked += 1;
    factor = options.momentum().has_value()
                 ? *options.momentum()
                 : 1.0 / static_cast<double>(num_batches_tracked.item<int64_t>());
  }
  return torch::batch_norm(input, weight, bias, running_mean, running_var,
                           is_training() || !options.track_running_stats(), factor, options.eps(),
                           /*cudnn_enabled=*/false);
}

void FoldableBatchNormImpl::mark_folded() {
  if (folded_) return;
  register_buffer(kFoldedBufferName, torch::ones({1}));
  folded_ = true;
}

void FoldableBatchNormImpl::pretty_print(std::ostream& stream) const {
  stream << std::boolalpha << "lowbit::nn::FoldableBatchNorm(" << options.num_features()
         << ", eps=" << options.eps() << ", momentum=" << options.momentum().value_or(0.0)
         << ", affine=" << options.affine() << ", folded=" << folded_ << ")";
}

bool is_folded_batch_norm(const torch::nn::Module& module) {
  const auto* bn = dynamic_cast<const FoldableBatchNormImpl*>(&module);
  return bn != nullptr && bn->folded();
}

}  // namespace lowbit::nn
