#include "lowbit/quant/affine/activation_quantizers.h"

#include <torch/autograd.h>

#include <cmath>
#include <string>

#include "lowbit/quant/registry.h"

namespace lowbit::quant {

ActivationQuantizerImpl::ActivationQuantizerImpl(const ActivationOptions& options, QuantSpec spec)
    : options_(options), spec_(std::move(spec)) {}

int ActivationQuantizerImpl::min_bits(ActivationKind kind) {
  // A 1-bit signed clip or hard_tanh grid would hold the single value 0.
  return kind == ActivationKind::kClip || kind == ActivationKind::kHardTanh ? 2 : 1;
}

AffineGrid ActivationQuantizerImpl::input_grid(const torch::Device& device) const {
  const int b = options_.bits;
  switch (options_.kind) {
    case ActivationKind::kQuantizedRelu:
      return constant_grid(std::ldexp(1.0, options_.integer - b), 0, 0, (int64_t{1} << b) - 1,
                           device);
    case ActivationKind::kClip: {
      const double level = options_.max.value_or(1.0);
      if (options_.is_signed) {
        const int64_t q = (int64_t{1} << (b - 1)) - 1;
        return constant_grid(level / static_cast<double>(q), 0, -q, q, device);
      }
      const int64_t q = (int64_t{1} << b) - 1;
      return constant_grid(level / static_cast<double>(q), 0, 0, q, device);
    }
    case ActivationKind::kHardSigmoid: {
      // round((0.5 x + 0.5) 2^B) = round(x 2^(B-1)) + 2^(B-1) exactly (power-of-two factors), so
      // the x-domain grid has step 2^(1-B) and zero point 2^(B-1).
      const int64_t m = int64_t{1} << b;
      return constant_grid(std::ldexp(1.0, 1 - b), m / 2, 1, m - 1, device);
    }
    case ActivationKind::kHardTanh: {
      const int64_t m = int64_t{1} << (b - 1);
      return constant_grid(std::ldexp(1.0, 1 - b), 0, -(m - 1), m - 1, device);
    }
  }
  throw std::logic_error("unknown activation kind");
}

AffineGrid ActivationQuantizerImpl::output_grid(const torch::Device& device) const {
  if (options_.kind != ActivationKind::kHardSigmoid) return input_grid(device);
  const int64_t m = int64_t{1} << options_.bits;
  return constant_grid(std::ldexp(1.0, -options_.bits), 0, 1, m - 1, device);
}

torch::Tensor ActivationQuantizerImpl::clip_input(const torch::Tensor& x) const {
  // QKeras relu_upper_bound clips before rounding; the gradient above it is zero.
  if (options_.kind == ActivationKind::kQuantizedRelu && options_.max) {
    return torch::clamp_max(x, *options_.max);
  }
  return x;
}

torch::Tensor ActivationQuantizerImpl::forward(const torch::Tensor& x) {
  const torch::Tensor q = fake_quantize(clip_input(x), input_grid(x.device()));
  // (code - 2^(B-1)) 2^(1-B) * 0.5 + 0.5 = code 2^-B exactly: the integer form's value.
  if (options_.kind == ActivationKind::kHardSigmoid) return q * 0.5 + 0.5;
  return q;
}

IntegerForm ActivationQuantizerImpl::integer_form(const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  const AffineGrid in = input_grid(x.device());
  const AffineGrid out = output_grid(x.device());
  IntegerForm form =
      grid_integer_form(clip_input(x), in, options_.bits,
                        options_.kind == ActivationKind::kHardTanh ||
                            (options_.kind == ActivationKind::kClip && options_.is_signed));
  if (options_.kind == ActivationKind::kHardSigmoid) {
    // Codes 1..2^B-1 mean the same in both domains; only scale and zero point move.
    form.scale = out.scale;
    form.zero_point = out.zero_point;
  }
  return form;
}

void ActivationQuantizerImpl::set_bits(int bits) {
  const int lowest = min_bits(options_.kind);
  if (bits < lowest || bits > 8) {
    throw SpecError("quantizer spec '" + spec().str() + "': parameter 'bits' = '" +
                    std::to_string(bits) + "': expected an integer in [" + std::to_string(lowest) +
                    ", 8]");
  }
  options_.bits = bits;
}

QuantSpec ActivationQuantizerImpl::spec() const {
  QuantSpec s = spec_;
  if (s.has("bits") || options_.bits != 8) s.set("bits", std::to_string(options_.bits));
  return s;
}

torch::Tensor ActivationQuantizerImpl::levels(const torch::Tensor& x) {
  return grid_levels(output_grid(x.device()));
}

namespace {

std::function<Quantizer(const QuantSpec&, Role)> maker(ActivationKind kind) {
  return [kind](const QuantSpec& spec, Role /*role*/) -> Quantizer {
    ActivationOptions o;
    o.kind = kind;
    o.bits = spec.get_int_in("bits", 8, ActivationQuantizerImpl::min_bits(kind), 8);
    if (kind == ActivationKind::kQuantizedRelu) {
      o.integer = spec.get_int_in("integer", 0, -24, 24);
    }
    if (kind == ActivationKind::kClip) o.is_signed = spec.get_bool("signed", false);
    if (spec.has("max") || kind == ActivationKind::kClip) {
      o.max = spec.get_double("max", 1.0);
      if (!(*o.max > 0)) {
        throw SpecError("quantizer spec '" + spec.str() + "': parameter 'max' must be > 0");
      }
    }
    return std::make_shared<ActivationQuantizerImpl>(o, spec);
  };
}

}  // namespace

void add_activation_types(std::vector<QuantizerType>& types) {
  const ParamInfo bits{"bits", "8", "bits per code, 1..8"};
  types.push_back(QuantizerType{
      "quantized_relu",
      "QKeras quantized_relu(bits, integer): relu on the unsigned grid k * 2^(integer - bits)",
      {bits,
       {"integer", "0", "integer bits: step 2^(integer - bits), largest value 2^integer - step"},
       {"max", "none", "upper bound applied before rounding (QKeras relu_upper_bound)"}},
      {Role::kActivation},
      maker(ActivationKind::kQuantizedRelu)});
  types.push_back(QuantizerType{
      "clip",
      "clip to a fixed level on a uniform grid, e.g. ReLU6 = clip:bits=8,signed=0,max=6",
      {{"bits", "8", "bits per code, 2..8"},
       {"signed", "0", "1: [-max, max] on codes -(2^(bits-1)-1)..2^(bits-1)-1; 0: [0, max]"},
       {"max", "1", "the clipping level, > 0"}},
      {Role::kActivation},
      maker(ActivationKind::kClip)});
  types.push_back(QuantizerType{
      "hard_sigmoid",
      "QKeras quantized_sigmoid (hard): clip(0.5x + 0.5, 0, 1) on codes 1..2^bits-1, step 2^-bits",
      {bits},
      {Role::kActivation},
      maker(ActivationKind::kHardSigmoid)});
  types.push_back(QuantizerType{
      "hard_tanh",
      "QKeras quantized_tanh (hard): clip(x, -1, 1) on codes +-(2^(bits-1)-1), step 2^(1-bits)",
      {{"bits", "8", "bits per code, 2..8"}},
      {Role::kActivation},
      maker(ActivationKind::kHardTanh)});
}

}  // namespace lowbit::quant
