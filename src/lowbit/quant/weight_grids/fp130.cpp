#include "lowbit/quant/weight_grids/fp130.h"

#include <string>

namespace lowbit::quant {

Fp130QuantizerImpl::Fp130QuantizerImpl(double quantscale, bool per_channel, SteMode ste)
    : GridQuantizerImpl(per_channel, ste), quantscale_(quantscale) {
  if (!(quantscale > 0)) {
    throw SpecError("quantizer 'fp130': parameter 'quantscale' must be > 0, got " +
                    std::to_string(quantscale));
  }
}

QuantSpec Fp130QuantizerImpl::spec() const {
  QuantSpec s("fp130");
  s.set("quantscale", format_real(quantscale_));
  add_common_params(s);
  return s;
}

torch::Tensor Fp130QuantizerImpl::compute_stat(const torch::Tensor& x) const {
  return absmean_stat(x, per_channel());
}

torch::Tensor Fp130QuantizerImpl::scale_from_stat(const torch::Tensor& stat) const {
  return stat / static_cast<float>(128.0 * quantscale_);
}

torch::Tensor Fp130QuantizerImpl::encode(const torch::Tensor& x, const torch::Tensor& scale) const {
  // frexp gives floor(log2(t)) + 1 exactly, where log2() may land just below an integer.
  const torch::Tensor e = torch::clamp(std::get<1>(torch::frexp(x.abs() / scale)) - 1, 0, 7);
  const torch::Tensor magnitude = torch::bitwise_left_shift(torch::ones_like(e), e);
  return torch::where(x < 0, -magnitude, magnitude);
}

void Fp130QuantizerImpl::describe(IntegerForm& form) const {
  form.bits = 4;
  form.is_signed = true;
  form.code_min = -128;
  form.code_max = 128;
}

torch::Tensor Fp130QuantizerImpl::all_codes() const {
  const torch::Tensor positive =
      torch::bitwise_left_shift(torch::ones({8}, torch::kInt64), torch::arange(8, torch::kInt64));
  return torch::cat({-positive.flip(0), positive});
}

}  // namespace lowbit::quant
