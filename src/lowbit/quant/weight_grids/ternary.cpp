#include "lowbit/quant/weight_grids/ternary.h"

namespace lowbit::quant {

TernaryQuantizerImpl::TernaryQuantizerImpl(bool per_channel, SteMode ste)
    : GridQuantizerImpl(per_channel, ste) {}

QuantSpec TernaryQuantizerImpl::spec() const {
  QuantSpec s("ternary");
  add_common_params(s);
  return s;
}

torch::Tensor TernaryQuantizerImpl::compute_stat(const torch::Tensor& x) const {
  return absmean_stat(x, per_channel());
}

torch::Tensor TernaryQuantizerImpl::scale_from_stat(const torch::Tensor& stat) const {
  return stat;
}

torch::Tensor TernaryQuantizerImpl::encode(const torch::Tensor& x,
                                           const torch::Tensor& scale) const {
  return torch::clamp(torch::round(x / scale), -1, 1);
}

void TernaryQuantizerImpl::describe(IntegerForm& form) const {
  form.bits = 2;
  form.is_signed = true;
  form.code_min = -1;
  form.code_max = 1;
}

torch::Tensor TernaryQuantizerImpl::all_codes() const {
  return torch::tensor({-1, 0, 1}, torch::kInt64);
}

}  // namespace lowbit::quant
