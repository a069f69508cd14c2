#include "lowbit/quant/sym.h"

#include <cmath>
#include <string>

namespace lowbit::quant {

SymQuantizerImpl::SymQuantizerImpl(int bits, double quantscale, bool per_channel, SteMode ste)
    : GridQuantizerImpl(per_channel, ste), bits_(0), quantscale_(quantscale) {
  if (!(quantscale > 0)) {
    throw SpecError("quantizer 'sym': parameter 'quantscale' must be > 0, got " +
                    std::to_string(quantscale));
  }
  set_bits(bits);
}

void SymQuantizerImpl::set_bits(int bits) {
  if (bits < kMinBits || bits > kMaxBits) {
    throw SpecError("quantizer 'sym': parameter 'bits' must be an integer in [" +
                    std::to_string(kMinBits) + ", " + std::to_string(kMaxBits) + "], got " +
                    std::to_string(bits));
  }
  bits_ = bits;
}

QuantSpec SymQuantizerImpl::spec() const {
  QuantSpec s("sym");
  s.set("bits", std::to_string(bits_));
  s.set("quantscale", format_real(quantscale_));
  add_common_params(s);
  return s;
}

torch::Tensor SymQuantizerImpl::compute_stat(const torch::Tensor& x) const {
  return absmean_stat(x, per_channel());
}

torch::Tensor SymQuantizerImpl::scale_from_stat(const torch::Tensor& stat) const {
  // Half the step: step = mean|w| / (2^(b-1) * quantscale).
  return stat / static_cast<float>(std::ldexp(quantscale_, bits_));
}

torch::Tensor SymQuantizerImpl::encode(const torch::Tensor& x, const torch::Tensor& scale) const {
  const double top = std::ldexp(1.0, bits_ - 1);
  const torch::Tensor u = torch::clamp(torch::round(x / (scale * 2) - 0.5), -top, top - 1);
  return u * 2 + 1;
}

void SymQuantizerImpl::describe(IntegerForm& form) const {
  form.bits = bits_;
  form.is_signed = true;
  form.code_max = (int64_t{1} << bits_) - 1;
  form.code_min = -form.code_max;
}

torch::Tensor SymQuantizerImpl::all_codes() const {
  const int64_t top = (int64_t{1} << bits_) - 1;
  return torch::arange(-top, top + 1, 2, torch::kInt64);
}

}  // namespace lowbit::quant
