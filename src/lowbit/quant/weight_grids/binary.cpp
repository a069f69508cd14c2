#include "lowbit/quant/weight_grids/binary.h"

namespace lowbit::quant {

BinaryQuantizerImpl::BinaryQuantizerImpl(bool centered, bool per_channel, SteMode ste)
    : GridQuantizerImpl(per_channel, ste), centered_(centered) {}

QuantSpec BinaryQuantizerImpl::spec() const {
  QuantSpec s("binary");
  s.set("centered", centered_ ? "1" : "0");
  add_common_params(s);
  return s;
}

torch::Tensor BinaryQuantizerImpl::compute_stat(const torch::Tensor& x) const {
  return absmean_stat(x, per_channel());
}

torch::Tensor BinaryQuantizerImpl::scale_from_stat(const torch::Tensor& stat) const {
  return stat;
}

torch::Tensor BinaryQuantizerImpl::encode(const torch::Tensor& x,
                                          const torch::Tensor& /*scale*/) const {
  torch::Tensor arg = x;
  if (centered_) {
    const torch::Tensor mean =
        per_channel() ? broadcast_along(x.reshape({x.size(0), -1}).mean(1), 0, x.dim()) : x.mean();
    arg = x - mean;
  }
  return torch::where(arg >= 0, torch::ones_like(x, torch::kInt32),
                      torch::full_like(x, -1, torch::kInt32));
}

void BinaryQuantizerImpl::describe(IntegerForm& form) const {
  form.bits = 1;
  form.is_signed = true;
  form.code_min = -1;
  form.code_max = 1;
}

torch::Tensor BinaryQuantizerImpl::all_codes() const {
  return torch::tensor({-1, 1}, torch::kInt64);
}

}  // namespace lowbit::quant
