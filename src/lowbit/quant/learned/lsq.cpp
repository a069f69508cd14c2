#include "lowbit/quant/learned/lsq.h"

#include "lowbit/quant/fused_fake_quantize.h"

#include <cmath>
#include <string>

#include "lowbit/quant/fused_codes.h"
#include "lowbit/quant/weight_grids/grid_base.h"

namespace lowbit::quant {
namespace {

// The step is used as |step| floored here: a step driven through zero or below would make the
// grid meaningless, and unlike an in-place clamp this keeps the parameter's version unchanged,
// so a quantizer applied several times before one backward pass stays valid.
constexpr double kMinStep = 1.1920928955078125e-07;  // float32 epsilon

torch::Tensor effective_step(const torch::Tensor& step) {
  return step.abs().clamp_min(kMinStep);
}

}  // namespace

LsqImpl::LsqImpl(const LsqOptions& options, Role role) : options_(options), role_(role) {
  const int lo = options.is_signed ? 2 : 1;
  if (options.bits < lo || options.bits > 16) {
    throw SpecError("lsq: bits=" + std::to_string(options.bits) + " out of range; expected " +
                    std::to_string(lo) + "..16 for a " +
                    (options.is_signed ? "signed" : "unsigned") + " grid");
  }
  step_ = register_parameter("step", torch::ones({1}));
  initialized_ = register_buffer("initialized", torch::zeros({1}, torch::kInt64));
}

bool LsqImpl::initialized() const {
  return initialized_.item<int64_t>() != 0;
}

int64_t LsqImpl::code_min() const {
  return options_.is_signed ? -(int64_t{1} << (options_.bits - 1)) : 0;
}

int64_t LsqImpl::code_max() const {
  return options_.is_signed ? (int64_t{1} << (options_.bits - 1)) - 1
                            : (int64_t{1} << options_.bits) - 1;
}

int64_t LsqImpl::channel_axis(const torch::Tensor& x) const {
  if (!options_.per_channel) return -1;
  const int64_t axis = role_ == Role::kActivation ? 1 : 0;
  if (x.dim() <= axis) {
    throw std::invalid_argument("lsq per_channel: input of rank " + std::to_string(x.dim()) +
                                " has no channel axis " + std::to_string(axis));
  }
  return axis;
}

void LsqImpl::check_input(const torch::Tensor& x) const {
  if (x.scalar_type() != torch::kFloat32 || x.numel() == 0) {
    throw std::invalid_argument("lsq: expected a non-empty float32 tensor, got " +
                                std::string(c10::toString(x.scalar_type())) + " with " +
                                std::to_string(x.numel()) + " elements");
  }
}

double LsqImpl::grad_scale(const torch::Tensor& x) const {
  double n = static_cast<double>(x.numel());
  if (role_ == Role::kActivation && x.dim() >= 2) n /= static_cast<double>(x.size(0));
  const int64_t axis = channel_axis(x);
  if (axis >= 0) n /= static_cast<double>(x.size(axis));
  return 1.0 / std::sqrt(n * static_cast<double>(code_max()));
}

torch::Tensor LsqImpl::initial_step(const torch::Tensor& x) const {
  torch::NoGradGuard no_grad;
  const torch::Tensor magnitude = x.detach().abs();
  const int64_t axis = channel_axis(x);
  const torch::Tensor mean = axis < 0
                                 ? magnitude.mean().reshape({1})
                                 : magnitude.transpose(0, axis).reshape({x.size(axis), -1}).mean(1);
  return (2.0 * mean / std::sqrt(static_cast<double>(code_max()))).clamp_min(kMinStep);
}

torch::Tensor LsqImpl::current_step(const torch::Tensor& x) const {
  const torch::Tensor step = initialized() ? step_ : initial_step(x);
  const int64_t axis = channel_axis(x);
  if (axis >= 0 && step.numel() != x.size(axis)) {
    throw std::invalid_argument("lsq per_channel: step has " + std::to_string(step.numel()) +
                                " channels but the input has " + std::to_string(x.size(axis)) +
                                " along axis " + std::to_string(axis));
  }
  if (axis < 0 && step.numel() != 1) {
    throw std::invalid_argument("lsq: per-tensor step has " + std::to_string(step.numel()) +
                                " values; expected 1");
  }
  return effective_step(step);
}

torch::Tensor LsqImpl::clipped(const torch::Tensor& x) const {
  if (options_.clip <= 0.0) return x;
  // Unsigned grids clamp negative values to code 0 anyway; only the top needs the clip.
  return options_.is_signed ? x.clamp(-options_.clip, options_.clip) : x.clamp_max(options_.clip);
}

torch::Tensor LsqImpl::forward(const torch::Tensor& input) {
  check_input(input);
  const torch::Tensor x = clipped(input);
  if (!initialized()) {
    torch::NoGradGuard no_grad;
    // set_data keeps the parameter's identity: optimizers built before the first forward still
    // update this tensor after a per-channel step grows from {1} to {C}.
    step_.set_data(initial_step(x).to(step_.device()));
    initialized_.fill_(1);
  }
  const torch::Tensor step = current_step(x);
  const double g = grad_scale(x);
  const int64_t axis = channel_axis(x);
  if (x.device().is_cpu() && x.scalar_type() == torch::kFloat32) {
    return fused_learned_step_cpu(x, step, axis, code_min(), code_max(), g);
  }
  const torch::Tensor zero_point = torch::zeros_like(step);
  if (axis < 0) {
    return torch::_fake_quantize_learnable_per_tensor_affine(x, step, zero_point, code_min(),
                                                             code_max(), g);
  }
  return torch::_fake_quantize_learnable_per_channel_affine(x, step, zero_point, axis, code_min(),
                                                            code_max(), g);
}

IntegerForm LsqImpl::integer_form(const torch::Tensor& input) {
  check_input(input);
  torch::NoGradGuard no_grad;
  const torch::Tensor x = clipped(input);
  const torch::Tensor step = current_step(x).detach();
  const int64_t axis = channel_axis(x);
  IntegerForm form;
  form.codes = fused_affine_codes(x, broadcast_along(step, axis, x.dim()), code_min(), code_max());
  form.scale = axis < 0 ? step.reshape({}).clone() : step.clone();
  form.zero_point = torch::zeros(form.scale.sizes(), torch::kInt32);
  form.bits = options_.bits;
  form.is_signed = options_.is_signed;
  form.axis = axis;
  form.code_min = code_min();
  form.code_max = code_max();
  return form;
}

void LsqImpl::set_bits(int bits) {
  const int64_t old_max = code_max();
  const LsqOptions old = options_;
  options_.bits = bits;
  const int lo = options_.is_signed ? 2 : 1;
  if (bits < lo || bits > 16) {
    options_ = old;
    throw SpecError("lsq: cannot set bits=" + std::to_string(bits) + "; expected " +
                    std::to_string(lo) + "..16 for a " +
                    (options_.is_signed ? "signed" : "unsigned") + " grid");
  }
  if (initialized()) {
    torch::NoGradGuard no_grad;
    step_.mul_(std::sqrt(static_cast<double>(old_max) / static_cast<double>(code_max())));
  }
}

void LsqImpl::set_frozen(bool frozen) {
  QuantizerImpl::set_frozen(frozen);
  step_.set_requires_grad(!frozen);
  // A zeroed but defined gradient would still let momentum and weight decay move the step.
  if (frozen) step_.mutable_grad() = torch::Tensor();
}

void LsqImpl::clone_(torch::nn::Module& other, const c10::optional<torch::Device>& device) {
  const auto* source = dynamic_cast<const LsqImpl*>(&other);
  if (source == nullptr) {
    throw std::invalid_argument("lsq: cannot clone from a module of another type (" + other.name() +
                                ")");
  }
  options_ = source->options_;
  role_ = source->role_;
  torch::NoGradGuard no_grad;
  const torch::Device target = device.value_or(source->step_.device());
  step_.set_data(source->step_.detach().to(target, /*non_blocking=*/false, /*copy=*/true));
  initialized_.set_data(
      source->initialized_.detach().to(target, /*non_blocking=*/false, /*copy=*/true));
  set_frozen(source->frozen());
}

QuantSpec LsqImpl::spec() const {
  QuantSpec spec("lsq", {{"bits", std::to_string(options_.bits)},
                         {"signed", options_.is_signed ? "1" : "0"},
                         {"per_channel", options_.per_channel ? "1" : "0"}});
  if (options_.clip > 0.0) spec.set("clip", format_real(options_.clip));
  return spec;
}

torch::Tensor LsqImpl::levels(const torch::Tensor& x) {
  check_input(x);
  torch::NoGradGuard no_grad;
  const torch::Tensor step = current_step(x).detach();
  const torch::Tensor codes =
      torch::arange(code_min(), code_max() + 1, torch::TensorOptions(torch::kFloat32))
          .to(step.device());
  if (channel_axis(x) < 0) return codes * step;
  return step.unsqueeze(1) * codes.unsqueeze(0);
}

}  // namespace lowbit::quant
