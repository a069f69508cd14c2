#include "lowbit/quant/learned/pact.h"

#include <torch/autograd.h>

#include <cstdio>
#include <string>

#include "lowbit/quant/fused_codes.h"

namespace lowbit::quant {
namespace {

// Alpha is used as |alpha| floored here, so a level pushed through zero cannot produce a
// non-positive step; the parameter itself is never modified in place.
constexpr double kMinAlpha = 1.1920928955078125e-07;  // float32 epsilon

torch::Tensor effective_alpha(const torch::Tensor& alpha) {
  return alpha.abs().clamp_min(kMinAlpha);
}

class PactFunction : public torch::autograd::Function<PactFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& alpha, int64_t code_max) {
    const torch::Tensor step = alpha.reshape({}) / static_cast<float>(code_max);
    ctx->save_for_backward({x, alpha});
    // The fused kernel's forward is the one the integer form mirrors (fused_affine_codes).
    return torch::fake_quantize_per_tensor_affine(x, step.item<float>(), 0, 0, code_max);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& x = saved[0];
    const torch::Tensor& alpha = saved[1];
    const torch::Tensor& grad = grads[0];
    const torch::Tensor above = (x >= alpha).to(grad.scalar_type());
    const torch::Tensor inside = torch::logical_and(x >= 0, x < alpha).to(grad.scalar_type());
    return {grad * inside, (grad * above).sum().reshape(alpha.sizes()), torch::Tensor()};
  }
};

std::string format_real(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.9g", value);
  return text;
}

}  // namespace

PactImpl::PactImpl(const PactOptions& options) : options_(options) {
  if (options.bits < 1 || options.bits > 16) {
    throw SpecError("pact: bits=" + std::to_string(options.bits) + " out of range; expected 1..16");
  }
  if (!(options.alpha > 0.0)) {
    throw SpecError("pact: alpha=" + format_real(options.alpha) + "; expected a positive level");
  }
  alpha_ = register_parameter("alpha", torch::full({1}, options.alpha, torch::kFloat32));
}

void PactImpl::check_input(const torch::Tensor& x) const {
  if (x.scalar_type() != torch::kFloat32) {
    throw std::invalid_argument("pact: expected a float32 tensor, got " +
                                std::string(c10::toString(x.scalar_type())));
  }
}

torch::Tensor PactImpl::step() const {
  torch::NoGradGuard no_grad;
  return effective_alpha(alpha_).reshape({}) / static_cast<float>(code_max());
}

torch::Tensor PactImpl::forward(const torch::Tensor& x) {
  check_input(x);
  return PactFunction::apply(x, effective_alpha(alpha_), code_max());
}

IntegerForm PactImpl::integer_form(const torch::Tensor& x) {
  check_input(x);
  IntegerForm form;
  form.scale = step();
  form.codes = fused_affine_codes(x, form.scale, 0, code_max());
  form.zero_point = torch::zeros({}, torch::kInt32);
  form.bits = options_.bits;
  form.is_signed = false;
  form.axis = -1;
  form.code_min = 0;
  form.code_max = code_max();
  return form;
}

void PactImpl::set_bits(int bits) {
  if (bits < 1 || bits > 16) {
    throw SpecError("pact: cannot set bits=" + std::to_string(bits) + "; expected 1..16");
  }
  options_.bits = bits;
}

void PactImpl::set_frozen(bool frozen) {
  QuantizerImpl::set_frozen(frozen);
  alpha_.set_requires_grad(!frozen);
  // A zeroed but defined gradient would still let momentum and weight decay move alpha.
  if (frozen) alpha_.mutable_grad() = torch::Tensor();
}

void PactImpl::clone_(torch::nn::Module& other, const c10::optional<torch::Device>& device) {
  const auto* source = dynamic_cast<const PactImpl*>(&other);
  if (source == nullptr) {
    throw std::invalid_argument("pact: cannot clone from a module of another type (" +
                                other.name() + ")");
  }
  options_ = source->options_;
  torch::NoGradGuard no_grad;
  const torch::Device target = device.value_or(source->alpha_.device());
  alpha_.set_data(source->alpha_.detach().to(target, /*non_blocking=*/false, /*copy=*/true));
  set_frozen(source->frozen());
}

QuantSpec PactImpl::spec() const {
  return QuantSpec(
      "pact", {{"bits", std::to_string(options_.bits)}, {"alpha", format_real(options_.alpha)}});
}

torch::Tensor PactImpl::levels(const torch::Tensor& x) {
  check_input(x);
  const torch::Tensor s = step();
  return torch::arange(0, code_max() + 1, torch::TensorOptions(torch::kFloat32)).to(s.device()) * s;
}

}  // namespace lowbit::quant
