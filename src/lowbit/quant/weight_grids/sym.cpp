#include "lowbit/quant/weight_grids/sym.h"

#include "lowbit/quant/affine/octav.h"

#include <cmath>
#include <string>

namespace lowbit::quant {

SymQuantizerImpl::SymQuantizerImpl(int bits, double quantscale, bool per_channel, SteMode ste,
                                   Clip clip)
    : GridQuantizerImpl(per_channel, ste), bits_(0), quantscale_(quantscale), clip_(clip) {
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
  if (clip_ == Clip::kOctav) s.set("clip", "octav");
  add_common_params(s);
  return s;
}

torch::Tensor SymQuantizerImpl::compute_stat(const torch::Tensor& x) const {
  if (clip_ == Clip::kMean) return absmean_stat(x, per_channel());
  // The clip level itself, per row (channel) or for the whole tensor.
  const torch::Tensor a = x.detach().to(torch::kFloat32).abs();
  const torch::Tensor rows = per_channel() ? a.reshape({a.size(0), -1}) : a.reshape({1, -1});
  const torch::Tensor level = octav_clip(rows, bits_).to(torch::kFloat32).clamp_min(kScaleStatEps);
  return per_channel() ? level : level.reshape({});
}

torch::Tensor SymQuantizerImpl::scale_from_stat(const torch::Tensor& stat) const {
  // Half the step: the clip level s spans 2^(b-1) steps, s = mean|w| / quantscale or OCTAV's.
  if (clip_ == Clip::kOctav) return stat / static_cast<float>(std::ldexp(1.0, bits_));
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
