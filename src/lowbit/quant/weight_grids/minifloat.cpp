#include "lowbit/quant/weight_grids/minifloat.h"

#include <cmath>
#include <string>
#include <vector>

namespace lowbit::quant {
namespace {

constexpr int64_t kExactFloatInt = int64_t{1} << 24;

[[noreturn]] void bad_format(const std::string& key, int e, int m, const std::string& why) {
  throw SpecError("quantizer 'fp:e=" + std::to_string(e) + ",m=" + std::to_string(m) +
                  "': parameter '" + key + "' " + why);
}

}  // namespace

MinifloatQuantizerImpl::MinifloatQuantizerImpl(int exponent_bits, int mantissa_bits,
                                               FpSpecial special, bool per_channel, SteMode ste)
    : GridQuantizerImpl(per_channel, ste),
      exponent_bits_(exponent_bits),
      mantissa_bits_(mantissa_bits),
      special_(special) {
  const int e = exponent_bits, m = mantissa_bits;
  if (e < 1 || e > 4) {
    bad_format("e", e, m,
               "must be in [1, 4]: wider exponents give codes beyond 2^24, which float32 cannot "
               "hold exactly");
  }
  if (m < 0 || m > 10) bad_format("m", e, m, "must be in [0, 10]");
  if (special == FpSpecial::kNan && m < 1) {
    bad_format("special", e, m, "'nan' needs at least one mantissa bit (NaN is S.1..1.1..1)");
  }
  if (special == FpSpecial::kIeee && e < 2) {
    bad_format("special", e, m, "'ieee' needs at least two exponent bits");
  }
  const int top_field = special == FpSpecial::kIeee ? (1 << e) - 2 : (1 << e) - 1;
  const int64_t mant = int64_t{1} << m;
  std::vector<int64_t> codes;
  for (int64_t j = 0; j < mant; ++j) codes.push_back(j);  // zero and the subnormals
  for (int k = 1; k <= top_field; ++k) {
    const int64_t last = (special == FpSpecial::kNan && k == top_field) ? mant - 2 : mant - 1;
    for (int64_t j = 0; j <= last; ++j) codes.push_back((mant + j) << (k - 1));
  }
  code_max_ = codes.back();
  if (code_max_ >= kExactFloatInt) {
    bad_format("m", e, m,
               "gives codes up to " + std::to_string(code_max_) +
                   ", beyond 2^24 where float32 is no longer exact");
  }
  positive_codes_ = torch::tensor(codes, torch::kInt64);
}

FpSpecial MinifloatQuantizerImpl::default_special(int exponent_bits, int mantissa_bits) {
  return exponent_bits == 4 && mantissa_bits == 3 ? FpSpecial::kNan : FpSpecial::kNone;
}

std::string MinifloatQuantizerImpl::special_name(FpSpecial special) {
  switch (special) {
    case FpSpecial::kNone:
      return "none";
    case FpSpecial::kNan:
      return "nan";
    case FpSpecial::kIeee:
      return "ieee";
  }
  return "none";
}

QuantSpec MinifloatQuantizerImpl::spec() const {
  QuantSpec s("fp");
  s.set("e", std::to_string(exponent_bits_));
  s.set("m", std::to_string(mantissa_bits_));
  s.set("special", special_name(special_));
  add_common_params(s);
  return s;
}

torch::Tensor MinifloatQuantizerImpl::unit_values() const {
  return positive_codes_.to(torch::kFloat64) * std::ldexp(1.0, 1 - bias() - mantissa_bits_);
}

torch::Tensor MinifloatQuantizerImpl::compute_stat(const torch::Tensor& x) const {
  return absmax_stat(x, per_channel());
}

torch::Tensor MinifloatQuantizerImpl::scale_from_stat(const torch::Tensor& stat) const {
  return stat / static_cast<float>(code_max_);
}

torch::Tensor MinifloatQuantizerImpl::encode(const torch::Tensor& x,
                                             const torch::Tensor& scale) const {
  const torch::Tensor t = x.abs() / scale;
  // frexp's exponent is exact where floor(log2(t)) can be off by one next to a power of two.
  const torch::Tensor binade = std::get<1>(torch::frexp(t)) - 1;
  // Spacing of the codes around t: 1 among the subnormals and the first binade, doubling after.
  const torch::Tensor spacing_log2 = torch::clamp_min(binade - mantissa_bits_, 0);
  const torch::Tensor spacing =
      torch::bitwise_left_shift(torch::ones_like(spacing_log2), spacing_log2).to(torch::kFloat32);
  const torch::Tensor magnitude =
      torch::clamp_max(torch::round(t / spacing) * spacing, static_cast<double>(code_max_));
  return torch::where(x < 0, -magnitude, magnitude);
}

void MinifloatQuantizerImpl::describe(IntegerForm& form) const {
  form.bits = bits();
  form.is_signed = true;
  form.code_min = -code_max_;
  form.code_max = code_max_;
}

torch::Tensor MinifloatQuantizerImpl::all_codes() const {
  return torch::cat({-positive_codes_.slice(0, 1).flip(0), positive_codes_});
}

}  // namespace lowbit::quant
