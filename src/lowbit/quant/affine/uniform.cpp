#include "lowbit/quant/affine/uniform.h"

#include <torch/autograd.h>

#include <cmath>
#include <string>

#include "lowbit/quant/registry.h"
#include "lowbit/quant/ste.h"

namespace lowbit::quant {

namespace {

// QKeras's K.epsilon(), used in its alpha=auto_po2 scale search.
constexpr double kKerasEpsilon = 1e-7;
// QKeras refines the auto_po2 scale with this many least-squares steps.
constexpr int kAutoPo2Steps = 5;

torch::Tensor round_to_power_of_two(const torch::Tensor& scale) {
  return torch::pow(2.0, torch::round(torch::log2(scale + kKerasEpsilon)));
}

[[noreturn]] void bad_bits(const QuantSpec& spec, int bits, const std::string& allowed) {
  throw SpecError("quantizer spec '" + spec.str() + "': parameter 'bits' = '" +
                  std::to_string(bits) + "': expected " + allowed);
}

}  // namespace

std::pair<int64_t, int64_t> code_range(int bits, bool is_signed, bool narrow) {
  if (!is_signed) return {0, (int64_t{1} << bits) - 1};
  const int64_t half = int64_t{1} << (bits - 1);
  return {-half + (narrow ? 1 : 0), half - 1};
}

UniformQuantizerImpl::UniformQuantizerImpl(const UniformOptions& options, RangeEstimator estimator,
                                           QuantSpec spec)
    : options_(options), estimator_(std::move(estimator)), spec_(std::move(spec)) {
  if (estimator_) register_module("estimator", estimator_);
}

int64_t UniformQuantizerImpl::axis_for(const torch::Tensor& x) const {
  // Per-element "channels" of a vector would make every element exact; QKeras also scales
  // rank-1 tensors as a whole.
  return options_.per_channel && x.dim() >= 2 ? 0 : -1;
}

torch::Tensor UniformQuantizerImpl::qkeras_auto_scale(const torch::Tensor& x, int64_t axis) const {
  torch::NoGradGuard no_grad;
  const double m_i = std::ldexp(1.0, *options_.integer);
  const torch::Tensor xs = estimator_rows(x, axis) / m_i;
  const double half_levels = static_cast<double>((int64_t{1} << (options_.bits - 1)) - 1);
  torch::Tensor scale = std::get<0>(xs.abs().max(1)) / half_levels;
  if (options_.alpha == Alpha::kAutoPo2) {
    scale = round_to_power_of_two(scale);
    for (int i = 0; i < kAutoPo2Steps; ++i) {
      const torch::Tensor v = torch::floor(xs.abs() / scale.unsqueeze(1) + 0.5);
      const torch::Tensor z = torch::sign(xs) * torch::clamp_max(v, half_levels);
      const torch::Tensor qx = (xs * z).mean(1);
      const torch::Tensor qq = (z * z).mean(1);
      scale = round_to_power_of_two(qx / (qq + kKerasEpsilon));
    }
  }
  return per_axis((scale * m_i).clamp_min(kMinScale).to(torch::kFloat32), axis);
}

AffineGrid UniformQuantizerImpl::grid(const torch::Tensor& x) {
  const int64_t axis = axis_for(x);
  const bool narrow = options_.narrow || options_.alpha != Alpha::kOne;
  const auto [qmin, qmax] = code_range(options_.bits, options_.is_signed, narrow);
  if (!options_.integer) {
    return affine_grid(estimator_->estimate(x, axis, qmin, qmax), qmin, qmax, axis);
  }
  if (options_.alpha != Alpha::kOne) {
    const torch::Tensor scale = qkeras_auto_scale(x, axis);
    AffineGrid g;
    g.scale = scale;
    g.zero_point = torch::zeros(scale.sizes(), scale.options().dtype(torch::kInt32));
    g.qmin = qmin;
    g.qmax = qmax;
    g.axis = axis;
    return g;
  }
  // QKeras: step = 2^integer / 2^(bits - keep_negative).
  const double step =
      std::ldexp(1.0, *options_.integer - options_.bits + (options_.is_signed ? 1 : 0));
  AffineGrid g = constant_grid(step, 0, qmin, qmax, x.device());
  if (axis >= 0) {
    g.scale = g.scale.expand({x.size(axis)}).contiguous();
    g.zero_point = g.zero_point.expand({x.size(axis)}).contiguous();
    g.axis = axis;
  }
  return g;
}

torch::Tensor UniformQuantizerImpl::binary_scale(const torch::Tensor& x) {
  const int64_t axis = axis_for(x);
  if (options_.integer) {
    // QKeras's 1-bit quantized_bits is sign(x) in {-1, +1} whatever `integer` says.
    const int64_t channels = axis < 0 ? 1 : x.size(axis);
    return per_axis(torch::ones({channels}, x.options().dtype(torch::kFloat32)), axis);
  }
  const ClipRange range = estimator_->estimate(x, axis, -1, 1);
  return torch::maximum(-range.lo, range.hi).clamp_min(kMinScale).detach();
}

torch::Tensor UniformQuantizerImpl::forward(const torch::Tensor& x) {
  if (estimator_ && is_training() && !frozen_) estimator_->observe(x, axis_for(x));
  if (!binary()) return fake_quantize(x, grid(x));
  const torch::Tensor s = broadcast_along(binary_scale(x), axis_for(x), x.dim());
  torch::Tensor q;
  {
    torch::NoGradGuard no_grad;
    q = torch::where(x >= 0, 1, -1).to(torch::kInt32).to(torch::kFloat32) * s;
  }
  return straight_through(x, q, -s, s);
}

bool UniformQuantizerImpl::scale_is_static() const {
  if (options_.integer) return binary() || options_.alpha == Alpha::kOne;
  return estimator_->is_static();
}

IntegerForm UniformQuantizerImpl::integer_form(const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  if (!binary()) return grid_integer_form(x, grid(x), options_.bits, options_.is_signed);
  const int64_t axis = axis_for(x);
  IntegerForm form;
  form.codes = torch::where(x >= 0, 1, -1).to(torch::kInt32);
  form.scale = binary_scale(x).clone();
  form.zero_point = torch::zeros(form.scale.sizes(), form.scale.options().dtype(torch::kInt32));
  form.bits = 1;
  form.is_signed = true;
  form.axis = form.scale.dim() == 0 ? -1 : axis;
  form.code_min = -1;
  form.code_max = 1;
  return form;
}

void UniformQuantizerImpl::set_bits(int bits) {
  const int lowest = options_.alpha == Alpha::kOne ? 1 : 2;
  if (bits < lowest || bits > 8) {
    bad_bits(spec(), bits, "an integer in [" + std::to_string(lowest) + ", 8]");
  }
  options_.bits = bits;
}

void UniformQuantizerImpl::set_frozen(bool frozen) {
  QuantizerImpl::set_frozen(frozen);
  if (estimator_) estimator_->set_frozen(frozen);
}

QuantSpec UniformQuantizerImpl::spec() const {
  QuantSpec s = spec_;
  if (s.has("bits") || options_.bits != 8) s.set("bits", std::to_string(options_.bits));
  return s;
}

torch::Tensor UniformQuantizerImpl::levels(const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  if (!binary()) return grid_levels(grid(x));
  const torch::Tensor s = binary_scale(x);
  return s.dim() == 0 ? torch::stack({-s, s}) : torch::stack({-s, s}, 1);
}

namespace {

Quantizer make_uniform(const QuantSpec& spec, Role role) {
  UniformOptions o;
  o.bits = spec.get_int_in("bits", 8, 1, 8);
  o.is_signed = spec.get_bool("signed", role != Role::kActivation);
  o.narrow = spec.get_bool("narrow", false);
  const std::string alpha = spec.get_choice("alpha", "1", {"1", "auto", "auto_po2"});
  o.alpha = alpha == "auto" ? Alpha::kAuto : alpha == "auto_po2" ? Alpha::kAutoPo2 : Alpha::kOne;
  o.per_channel = spec.get_bool("per_channel", o.alpha != Alpha::kOne);
  if (spec.has("integer") || o.alpha != Alpha::kOne) {
    o.integer = spec.get_int_in("integer", 0, -24, 24);
    for (const char* key : {"scale", "prop", "momentum", "percentile"}) {
      if (spec.has(key)) {
        throw SpecError("quantizer spec '" + spec.str() + "': parameter '" + key +
                        "' does not apply to a fixed-point grid (integer= or alpha=auto*)");
      }
    }
  }
  if (o.alpha != Alpha::kOne && (!o.is_signed || o.bits < 2)) {
    throw SpecError("quantizer spec '" + spec.str() + "': parameter 'alpha' = '" + alpha +
                    "' needs signed=1 and bits >= 2");
  }
  RangeEstimator estimator;
  if (!o.integer) {
    estimator = make_range_estimator(spec, role == Role::kActivation ? "ema" : "absmax");
  }
  return std::make_shared<UniformQuantizerImpl>(o, std::move(estimator), spec);
}

}  // namespace

void add_uniform_types(std::vector<QuantizerType>& types) {
  types.push_back(QuantizerType{
      "uniform",
      "B-bit uniform affine grid; scale from a range estimator or QKeras quantized_bits fixed "
      "point",
      {
          {"bits", "8", "bits per code, 1..8 (signed 1 bit is binary {-s, +s})"},
          {"signed", "1",
           "1: symmetric signed codes (QKeras keep_negative); 0: unsigned codes with a zero point; "
           "activations default to 0"},
          {"narrow", "0", "1: drop the most negative code, a symmetric grid (QKeras symmetric)"},
          {"per_channel", "0",
           "1: one scale per slice along axis 0 of rank >= 2 tensors; alpha=auto* defaults to 1"},
          {"scale", "absmax",
           "range estimator: absmax|absmean|minmax|ema|percentile|mse|octav; activations "
           "default to ema"},
          {"prop", "1", "absmean: clip at prop * mean(|x|)"},
          {"momentum", "0.1", "ema: weight of each new batch in the running min/max, in (0, 1]"},
          {"percentile", "99.9", "percentile: clipping percentile, in (50, 100]"},
          {"integer", "none",
           "QKeras integer bits: fixed-point step 2^(integer - bits + signed), -24..24; none: "
           "scale from the estimator"},
          {"alpha", "1",
           "QKeras alpha: 1 (no extra scale), auto (per-channel float scale), auto_po2 "
           "(per-channel power-of-two scale); auto* needs signed=1, bits>=2"},
      },
      {Role::kWeight, Role::kBias, Role::kActivation},
      make_uniform});
}

}  // namespace lowbit::quant
