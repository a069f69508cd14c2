#include "lowbit/quant/weight_grids/nf4.h"

#include <vector>

namespace lowbit::quant {

Nf4QuantizerImpl::Nf4QuantizerImpl(bool per_channel, SteMode ste)
    : GridQuantizerImpl(per_channel, ste) {}

QuantSpec Nf4QuantizerImpl::spec() const {
  QuantSpec s("nf4");
  add_common_params(s);
  return s;
}

torch::Tensor Nf4QuantizerImpl::codebook() {
  return torch::tensor(std::vector<float>(kNf4Levels.begin(), kNf4Levels.end()), torch::kFloat32);
}

torch::Tensor Nf4QuantizerImpl::compute_stat(const torch::Tensor& x) const {
  return absmax_stat(x, per_channel());
}

torch::Tensor Nf4QuantizerImpl::scale_from_stat(const torch::Tensor& stat) const {
  return stat;
}

torch::Tensor Nf4QuantizerImpl::encode(const torch::Tensor& x, const torch::Tensor& scale) const {
  const torch::Tensor book = codebook().to(x.device());
  const torch::Tensor mid = (book.slice(0, 0, 15) + book.slice(0, 1, 16)) / 2;
  // right=true: a value equal to a midpoint goes to the upper level.
  return torch::bucketize(x / scale, mid, /*out_int32=*/true, /*right=*/true);
}

void Nf4QuantizerImpl::describe(IntegerForm& form) const {
  form.bits = 4;
  form.is_signed = false;
  form.code_min = 0;
  form.code_max = 15;
  form.levels = codebook();
}

torch::Tensor Nf4QuantizerImpl::all_codes() const {
  return torch::arange(16, torch::kInt64);
}

}  // namespace lowbit::quant
