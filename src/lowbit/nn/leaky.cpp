#include "lowbit/nn/leaky.h"

#include <torch/autograd.h>

#include <cmath>
#include <sstream>
#include <stdexcept>

#include "lowbit/nn/integer_lif.h"
#include "lowbit/quant/ste.h"
#include "lowbit/util/shape_text.h"

namespace lowbit::nn {
namespace {

void require(bool ok, const std::string& what) {
  if (!ok) throw std::invalid_argument("Leaky: " + what);
}

std::string number(double value) {
  std::ostringstream text;
  text << value;
  return text.str();
}

// The membrane after one step when the previous step's spikes `pending` reset it only now
// (snnTorch's order): decay `b`, the reset by `mechanism`, the input current `x`.
torch::Tensor delayed_reset_charge(ResetMechanism mechanism, const torch::Tensor& b,
                                   const torch::Tensor& membrane, const torch::Tensor& pending,
                                   const torch::Tensor& x, const torch::Tensor& thr) {
  switch (mechanism) {
    case ResetMechanism::kSubtract:
      return b * membrane + x - pending * thr;
    case ResetMechanism::kZero:
      return b * ((1.0 - pending) * membrane) + x;
    case ResetMechanism::kNone:
      break;
  }
  return b * membrane + x;
}

}  // namespace

const std::vector<std::string>& reset_mechanism_names() {
  static const std::vector<std::string> names = {"subtract", "zero", "none"};
  return names;
}

LeakyOptions::LeakyOptions(double beta) : beta_(beta) {}

LeakyImpl::LeakyImpl(const LeakyOptions& options_) : options(options_) {
  reset();
}

void LeakyImpl::reset() {
  const LeakyOptions& o = options;
  require(std::isfinite(o.beta()) && o.beta() >= 0.0 && o.beta() <= 1.0,
          "beta must lie in [0, 1], got " + number(o.beta()));
  require(std::isfinite(o.threshold()) && o.threshold() > 0.0,
          "threshold must be positive, got " + number(o.threshold()));
  require(std::isfinite(o.spike_grad().param) && o.spike_grad().param > 0.0,
          "the surrogate's parameter must be positive, got " + number(o.spike_grad().param));
  require(o.channels() >= 0,
          "channels must be 0 (one beta and threshold for the layer) or the "
          "channel count, got " +
              std::to_string(o.channels()));
  require(o.state_quant_bits() >= 0 && o.state_quant_bits() <= 16,
          "state_quant_bits must be 0 (off) to 16, got " + std::to_string(o.state_quant_bits()));
  require(std::isfinite(o.state_quant_lower_limit()) && o.state_quant_lower_limit() >= 0.0,
          "state_quant_lower_limit must be >= 0, got " + number(o.state_quant_lower_limit()));
  // The top level must lie above the threshold: with H(0) = 0 a membrane capped at the threshold
  // never fires.
  require(std::isfinite(o.state_quant_upper_limit()) && o.state_quant_upper_limit() > 0.0,
          "state_quant_upper_limit must be > 0 (the highest membrane level must exceed the "
          "threshold, or the neuron never fires), got " +
              number(o.state_quant_upper_limit()));
  require(o.leak_shift() >= 0 && o.leak_shift() <= 15,
          "leak_shift must be 0 (beta as given) to 15, got " + std::to_string(o.leak_shift()));
  require(!(o.leak_shift() > 0 && o.learn_beta()),
          "leak_shift fixes beta = 1 - 2^-leak_shift, so learn_beta must be false");
  require(o.membrane_bits() == 16 || o.membrane_bits() == 32,
          "membrane_bits must be 16 or 32, got " + std::to_string(o.membrane_bits()));
  require(!(o.integer_state() && o.state_quant_bits() > 0),
          "integer_state holds the membrane on the integer grid of its input currents; it cannot "
          "be combined with state_quant_bits (got " +
              std::to_string(o.state_quant_bits()) + ")");
  const auto& names = reset_mechanism_names();
  bool known = false;
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == o.reset_mechanism()) {
      mechanism_ = static_cast<ResetMechanism>(i);
      known = true;
    }
  }
  require(known,
          "reset_mechanism must be subtract, zero or none, got '" + o.reset_mechanism() + "'");

  std::vector<int64_t> shape;
  if (o.channels() > 0) shape.push_back(o.channels());
  // 1 - 2^-k is exact in float32 for k <= 15, so the integer LIF's shift and beta agree.
  const double beta_value = o.leak_shift() > 0 ? 1.0 - std::ldexp(1.0, -o.leak_shift()) : o.beta();
  const torch::Tensor b = torch::full(shape, beta_value);
  const torch::Tensor t = torch::full(shape, o.threshold());
  // Fixed values are buffers, as in snnTorch, so checkpoints hold them either way.
  beta = o.learn_beta() ? register_parameter("beta", b) : register_buffer("beta", b);
  threshold =
      o.learn_threshold() ? register_parameter("threshold", t) : register_buffer("threshold", t);
  reset_state();
}

void LeakyImpl::pretty_print(std::ostream& stream) const {
  stream << std::boolalpha << "lowbit::nn::Leaky(beta=" << options.beta()
         << ", threshold=" << options.threshold()
         << ", spike_grad=" << options.spike_grad().to_string()
         << ", reset_mechanism=" << options.reset_mechanism()
         << ", reset_delay=" << options.reset_delay() << ", reset_detach=" << options.reset_detach()
         << ", learn_beta=" << options.learn_beta()
         << ", learn_threshold=" << options.learn_threshold() << ", channels=" << options.channels()
         << ", state_quant_bits=" << options.state_quant_bits()
         << ", integer_state=" << options.integer_state() << ", leak_shift=" << options.leak_shift()
         << ", membrane_bits=" << options.membrane_bits() << ")";
}

void LeakyImpl::check_input(const torch::Tensor& x, int64_t channel_dim, const char* what) const {
  require(x.defined() && x.is_floating_point(),
          std::string(what) + ": the input must be a floating-point tensor");
  require(x.dim() >= channel_dim + (options.channels() > 0 ? 1 : 0) && x.dim() >= 1,
          std::string(what) + ": input " + util::shape_text(x.sizes()) +
              " has too few dimensions (" + (channel_dim == 2 ? "[T, B, ...]" : "[B, ...]") +
              (options.channels() > 0 ? " with channels" : "") + ")");
  if (options.channels() > 0) {
    require(x.size(channel_dim) == options.channels(),
            std::string(what) + ": input " + util::shape_text(x.sizes()) + " has " +
                std::to_string(x.size(channel_dim)) + " channels along dimension " +
                std::to_string(channel_dim) + ", the layer " + std::to_string(options.channels()));
  }
}

torch::Tensor LeakyImpl::along_channels(const torch::Tensor& t, int64_t dim) const {
  if (t.dim() == 0) return t;
  std::vector<int64_t> shape(static_cast<size_t>(dim - 1), 1);
  shape[0] = t.size(0);
  return t.view(shape);
}

void LeakyImpl::reset_state() {
  membrane_ = torch::Tensor();
  pending_reset_ = torch::Tensor();
  membrane_int_ = torch::Tensor();
  pending_reset_int_ = torch::Tensor();
}

torch::Tensor LeakyImpl::step(const torch::Tensor& x) {
  check_input(x, 1, "step");
  if (membrane_.defined() && membrane_.sizes() != x.sizes()) {
    throw std::invalid_argument("Leaky::step: input " + util::shape_text(x.sizes()) +
                                " differs from the state's " + util::shape_text(membrane_.sizes()) +
                                "; call reset_state() between samples");
  }
  require(!membrane_int_.defined(),
          "step: the state comes from step_integer; call reset_state() before float steps");
  if (!membrane_.defined()) {
    membrane_ = torch::zeros_like(x);
    pending_reset_ = torch::zeros_like(x);
  }
  const int64_t dim = x.dim();
  const torch::Tensor b = along_channels(effective_beta(), dim);
  const torch::Tensor thr = along_channels(threshold, dim);
  const Surrogate& grad = options.spike_grad();
  torch::Tensor u;
  torch::Tensor s;
  if (options.reset_delay()) {
    // snnTorch: the reset of a spike lands at the next step.
    u = quantize_state(delayed_reset_charge(mechanism_, b, membrane_, pending_reset_, x, thr));
    s = spike(u - thr, grad);
    pending_reset_ = options.reset_detach() ? s.detach() : s;
  } else {
    // Charge, fire, reset in one step (SpikingJelly, Norse).
    u = quantize_state(b * membrane_ + x);
    s = spike(u - thr, grad);
    const torch::Tensor r = options.reset_detach() ? s.detach() : s;
    if (mechanism_ == ResetMechanism::kSubtract) u = quantize_state(u - r * thr);
    if (mechanism_ == ResetMechanism::kZero) u = quantize_state((1.0 - r) * u);
  }
  membrane_ = u;
  return s;
}

torch::Tensor LeakyImpl::step_integer(const torch::Tensor& x, const torch::Tensor& codes,
                                      double current_step) {
  check_input(x, 1, "step_integer");
  require(options.integer_state(), "step_integer needs the option integer_state");
  require(codes.defined() && !codes.is_floating_point() && !codes.is_complex() &&
              codes.sizes() == x.sizes(),
          "step_integer: the codes must be an integer tensor of the currents' shape " +
              util::shape_text(x.sizes()));
  if (membrane_.defined()) {
    require(membrane_int_.defined(),
            "step_integer: the state comes from a float step(); call reset_state() first");
    require(membrane_.sizes() == x.sizes(),
            "step_integer: input " + util::shape_text(x.sizes()) + " differs from the state's " +
                util::shape_text(membrane_.sizes()) + "; call reset_state() between samples");
  } else {
    membrane_ = torch::zeros_like(x);
    pending_reset_ = torch::zeros_like(x);
    membrane_int_ = torch::zeros(x.sizes(), x.options().dtype(torch::kInt64));
    pending_reset_int_ = torch::zeros_like(membrane_int_);
  }
  // The integer LIF decides every value; the float LIF only routes the gradient.
  const IntegerLifStep next =
      integer_lif_step(codes.to(torch::kInt64), membrane_int_, pending_reset_int_,
                       integer_lif_constants(*this, current_step));
  const torch::Tensor spikes_int = next.spikes.to(x.scalar_type());
  const torch::Tensor membrane_value =
      (next.membrane.to(torch::kFloat64) * current_step).to(x.scalar_type());

  const int64_t dim = x.dim();
  const torch::Tensor b = along_channels(effective_beta(), dim);
  const torch::Tensor thr = along_channels(threshold, dim);
  const Surrogate& grad = options.spike_grad();
  torch::Tensor u;
  torch::Tensor s;
  if (options.reset_delay()) {
    u = delayed_reset_charge(mechanism_, b, membrane_, pending_reset_, x, thr);
    s = quant::straight_through(spike(u - thr, grad), spikes_int);
    pending_reset_ = options.reset_detach() ? s.detach() : s;
  } else {
    u = b * membrane_ + x;
    s = quant::straight_through(spike(u - thr, grad), spikes_int);
    const torch::Tensor r = options.reset_detach() ? s.detach() : s;
    if (mechanism_ == ResetMechanism::kSubtract) u = u - r * thr;
    if (mechanism_ == ResetMechanism::kZero) u = (1.0 - r) * u;
  }
  membrane_ = quant::straight_through(u, membrane_value);
  membrane_int_ = next.membrane;
  pending_reset_int_ = next.pending_reset;
  return s;
}

LeakyTrace LeakyImpl::run_integer(const torch::Tensor& x, const torch::Tensor& codes,
                                  double current_step) {
  check_input(x, 2, "run_integer");
  require(codes.defined() && codes.sizes() == x.sizes(),
          "run_integer: the codes must have the currents' shape " + util::shape_text(x.sizes()));
  reset_state();
  std::vector<torch::Tensor> spikes, membrane;
  for (int64_t t = 0; t < x.size(0); ++t) {
    spikes.push_back(step_integer(x[t], codes[t], current_step));
    membrane.push_back(membrane_);
  }
  return {torch::stack(spikes), torch::stack(membrane)};
}

torch::Tensor LeakyImpl::forward_sequence(const torch::Tensor& x) {
  check_input(x, 2, "forward_sequence");
  reset_state();
  std::vector<torch::Tensor> spikes;
  spikes.reserve(static_cast<size_t>(x.size(0)));
  for (int64_t t = 0; t < x.size(0); ++t) spikes.push_back(step(x[t]));
  return torch::stack(spikes);
}

LeakyTrace LeakyImpl::run(const torch::Tensor& x) {
  check_input(x, 2, "run");
  reset_state();
  std::vector<torch::Tensor> spikes, membrane;
  for (int64_t t = 0; t < x.size(0); ++t) {
    spikes.push_back(step(x[t]));
    membrane.push_back(membrane_);
  }
  return {torch::stack(spikes), torch::stack(membrane)};
}

torch::Tensor LeakyImpl::state_levels() const {
  const int bits = options.state_quant_bits();
  if (bits == 0) return {};
  const int64_t count = int64_t{1} << bits;
  const torch::Tensor thr = threshold.detach();
  const torch::Tensor lo = -thr * (1.0 + options.state_quant_lower_limit());
  const torch::Tensor hi = thr * (1.0 + options.state_quant_upper_limit());
  const torch::Tensor step = (hi - lo) / static_cast<double>(count - 1);
  const torch::Tensor k = torch::arange(count, thr.options());
  if (thr.dim() == 0) return lo + k * step;
  return lo.unsqueeze(1) + k.unsqueeze(0) * step.unsqueeze(1);
}

torch::Tensor LeakyImpl::quantize_state(const torch::Tensor& u) const {
  const int bits = options.state_quant_bits();
  if (bits == 0) return u;
  const int64_t count = int64_t{1} << bits;
  // The same arithmetic as state_levels(), so every value is exactly one of its levels.
  const torch::Tensor thr = along_channels(threshold.detach(), u.dim());
  const torch::Tensor lo = -thr * (1.0 + options.state_quant_lower_limit());
  const torch::Tensor hi = thr * (1.0 + options.state_quant_upper_limit());
  const torch::Tensor step = (hi - lo) / static_cast<double>(count - 1);
  torch::Tensor q;
  {
    torch::NoGradGuard no_grad;
    const torch::Tensor k = torch::round((torch::min(torch::max(u, lo), hi) - lo) / step);
    q = lo + k * step;
  }
  return quant::straight_through(u, q);
}

void LeakyImpl::set_state_quant_bits(int bits) {
  require(bits >= 0 && bits <= 16,
          "state_quant_bits must be 0 (off) to 16, got " + std::to_string(bits));
  require(!(options.integer_state() && bits > 0),
          "integer_state holds the membrane on the integer grid of its input currents; it cannot "
          "be combined with state_quant_bits (got " +
              std::to_string(bits) + ")");
  options.state_quant_bits(bits);
}

}  // namespace lowbit::nn
