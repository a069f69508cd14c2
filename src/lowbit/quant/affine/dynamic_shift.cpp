#include "lowbit/quant/affine/dynamic_shift.h"

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "lowbit/quant/registry.h"
#include "lowbit/quant/ste.h"

namespace lowbit::quant {
namespace {

constexpr int kMinBits = 2;  // one bit of magnitude at least: qmax = 1
constexpr int kMaxBits = 16;

// float32's exponents of normal numbers; a scale outside would not be an exact power of two.
constexpr int64_t kMinExponent = -126;
constexpr int64_t kMaxExponent = 127;

void check_bits(int bits, const std::string& what) {
  if (bits < kMinBits || bits > kMaxBits) {
    throw SpecError("dynshift: " + what + "bits=" + std::to_string(bits) +
                    " out of range; expected " + std::to_string(kMinBits) + ".." +
                    std::to_string(kMaxBits));
  }
}

// 2^k as float32, built from its bit pattern so that it is exact whatever exp2's accuracy.
torch::Tensor power_of_two(const torch::Tensor& k) {
  const torch::Tensor e = k.to(torch::kInt32).clamp(kMinExponent, kMaxExponent);
  return ((e + 127) * (int32_t{1} << 23)).view(torch::kFloat32);
}

// A {N} tensor reshaped to broadcast along axis 0 of a tensor of rank `rank`.
torch::Tensor per_sample(const torch::Tensor& s, int64_t rank) {
  std::vector<int64_t> shape(static_cast<size_t>(rank), 1);
  shape[0] = s.numel();
  return s.reshape(shape);
}

}  // namespace

DynamicShiftImpl::DynamicShiftImpl(const DynamicShiftOptions& options) : options_(options) {
  check_bits(options.bits, "");
}

void DynamicShiftImpl::check_input(const torch::Tensor& x) const {
  if (x.scalar_type() != torch::kFloat32) {
    throw std::invalid_argument("dynshift: expected a float32 tensor, got " +
                                std::string(c10::toString(x.scalar_type())));
  }
  if (x.dim() < 1) {
    throw std::invalid_argument(
        "dynshift: expected a tensor [N, ...] with the samples along axis 0, got a scalar");
  }
}

torch::Tensor DynamicShiftImpl::sample_scales(const torch::Tensor& x) const {
  check_input(x);
  torch::NoGradGuard no_grad;
  const int64_t n = x.size(0);
  if (x.numel() == 0) return torch::ones({n}, x.options());
  const torch::Tensor rows = x.detach().reshape({n, -1});
  const torch::Tensor m = options_.is_signed ? rows.abs().amax(1) : rows.amax(1);
  // m / 2^(bits-1) is exact; with it = f * 2^e, f in [0.5, 1), 2^e is the smallest power of two
  // above it, so 2^e is the smallest scale with m / scale < qmax + 1: BitNetMCU's
  // shift = bit length of (m >> 7) for bits = 8.
  const torch::Tensor ratio = m / static_cast<float>(code_max() + 1);
  const torch::Tensor exponent = std::get<1>(torch::frexp(ratio));
  // A sample with nothing positive (or a NaN) quantizes to 0 on any grid; 1 keeps it finite.
  return torch::where(m > 0, power_of_two(exponent), torch::ones_like(m));
}

torch::Tensor DynamicShiftImpl::float_codes(const torch::Tensor& x,
                                            const torch::Tensor& scale) const {
  torch::NoGradGuard no_grad;
  // Dividing by a power of two is exact, and so is v - floor(v): this is round half up without
  // the float rounding of floor(v + 0.5), as the C code's (acc + half) >> shift.
  const torch::Tensor v = x.detach() / scale;
  const torch::Tensor down = torch::floor(v);
  const torch::Tensor codes = down + (v - down >= 0.5f).to(torch::kFloat32);
  return codes.clamp(static_cast<double>(code_min()), static_cast<double>(code_max()));
}

torch::Tensor DynamicShiftImpl::forward(const torch::Tensor& x) {
  const torch::Tensor scale = per_sample(sample_scales(x), x.dim());
  const torch::Tensor quantized = float_codes(x, scale) * scale;
  // Every element of a sample lies below (qmax + 1) * scale; only an unsigned grid's negatives
  // are clipped, and they get no gradient, as after a ReLU.
  const float bound = static_cast<float>(code_max() + 1);
  const torch::Tensor hi = scale * bound;
  const torch::Tensor lo = options_.is_signed ? -hi : torch::zeros_like(scale);
  return straight_through(x, quantized, lo, hi);
}

IntegerForm DynamicShiftImpl::integer_form(const torch::Tensor& x) {
  IntegerForm form;
  form.scale = sample_scales(x);
  form.codes = float_codes(x, per_sample(form.scale, x.dim())).to(torch::kInt32);
  form.zero_point =
      torch::zeros({x.size(0)}, torch::TensorOptions(torch::kInt32).device(x.device()));
  form.bits = options_.bits;
  form.is_signed = options_.is_signed;
  form.axis = 0;  // one scale per sample, which IntegerForm holds as a slice along axis 0
  form.code_min = code_min();
  form.code_max = code_max();
  return form;
}

void DynamicShiftImpl::set_bits(int bits) {
  check_bits(bits, "cannot set ");
  options_.bits = bits;
}

QuantSpec DynamicShiftImpl::spec() const {
  return QuantSpec("dynshift", {{"bits", std::to_string(options_.bits)},
                                {"signed", options_.is_signed ? "1" : "0"}});
}

torch::Tensor DynamicShiftImpl::levels(const torch::Tensor& x) {
  const torch::Tensor scale = sample_scales(x);
  const torch::Tensor codes =
      torch::arange(code_min(), code_max() + 1, scale.options().dtype(torch::kFloat32));
  return codes.unsqueeze(0) * scale.unsqueeze(1);
}

void add_dynamic_shift_types(std::vector<QuantizerType>& types) {
  types.push_back(QuantizerType{
      "dynshift",
      "one power-of-two scale per sample from its max (BitNetMCU's ReLUNorm shift): the smallest "
      "2^k with max < 2^(bits-1) * 2^k, codes round-half-up(x / 2^k); exports after a QLinear "
      "(bias-free unless its input scale is fixed) with no requantization constants: "
      "lowbit_fc_dynshift_s8, on MCU targets the column kernels (docs/export.md)",
      {{"bits", "8", "code width 2..16; codes up to 2^(bits-1)-1 (8: 0..127, BitNetMCU's)"},
       {"signed", "0",
        "1: codes -(2^(bits-1)-1)..2^(bits-1)-1 from max|x|; 0: codes 0.. from max x, negatives "
        "0 (a ReLU)"}},
      {Role::kActivation},
      [](const QuantSpec& spec, Role /*role*/) -> Quantizer {
        DynamicShiftOptions options;
        options.bits = spec.get_int_in("bits", 8, kMinBits, kMaxBits);
        options.is_signed = spec.get_bool("signed", false);
        return std::make_shared<DynamicShiftImpl>(options);
      }});
}

}  // namespace lowbit::quant
