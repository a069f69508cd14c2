#include "lowbit/quant/learned/self_compress.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "lowbit/quant/registry.h"

namespace lowbit::quant {

namespace {

constexpr double kMaxBits = 16.0;

std::string number(double v) {
  std::string s = std::to_string(v);
  s.erase(s.find_last_not_of('0') + 1);
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

}  // namespace

SelfCompressImpl::SelfCompressImpl(const SelfCompressOptions& options, Role role)
    : options_(options), role_(role) {
  if (!(options.min_bits >= 0.0 && options.min_bits <= kMaxBits)) {
    throw SpecError("selfcompress: min_bits=" + number(options.min_bits) +
                    " out of range; expected 0..16");
  }
  if (!(options.bits >= options.min_bits && options.bits <= kMaxBits)) {
    throw SpecError("selfcompress: bits=" + number(options.bits) + " out of range; expected " +
                    number(options.min_bits) + "..16 (min_bits..16)");
  }
  bits_ = register_parameter("bits", torch::full({1}, options.bits));
  exponent_ = register_parameter("exponent", torch::zeros({1}));
  initialized_ = register_buffer("initialized", torch::zeros({1}, torch::kInt64));
}

void SelfCompressImpl::check_input(const torch::Tensor& x) const {
  if (!x.defined() || x.numel() == 0) {
    throw std::invalid_argument("selfcompress: expected a non-empty tensor");
  }
  if (options_.per_channel && x.dim() == 0) {
    throw std::invalid_argument("selfcompress: per_channel needs a tensor with a channel axis 0");
  }
}

torch::Tensor SelfCompressImpl::effective_bits() const {
  return bits_.clamp_min(options_.min_bits);
}

torch::Tensor SelfCompressImpl::broadcast(const torch::Tensor& t, int64_t rank) const {
  if (t.numel() == 1) return t.reshape({});
  std::vector<int64_t> shape(static_cast<size_t>(rank), 1);
  shape[0] = t.numel();
  return t.reshape(shape);
}

torch::Tensor SelfCompressImpl::initial_exponent(const torch::Tensor& x) const {
  torch::NoGradGuard no_grad;
  torch::Tensor b = effective_bits().detach();
  torch::Tensor max_abs = options_.per_channel ? x.detach().abs().reshape({x.size(0), -1}).amax(1)
                                               : x.detach().abs().max().reshape({1});
  max_abs = max_abs.to(torch::kFloat);
  torch::Tensor e = torch::log2(max_abs) - (b.to(max_abs.device()) - 1);
  return torch::where(max_abs > 0, e, torch::zeros_like(e));
}

void SelfCompressImpl::initialize(const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  torch::Tensor e = initial_exponent(x).to(exponent_.device());
  if (options_.per_channel && bits_.numel() != e.numel()) {
    // set_data keeps the parameters' identity, so optimizers built before the first forward
    // still update them once they grow from {1} to {C}.
    bits_.set_data(bits_.detach().expand({e.numel()}).clone());
  }
  exponent_.set_data(e);
  initialized_.fill_(1);
}

torch::Tensor SelfCompressImpl::scaled_codes(const torch::Tensor& x, const torch::Tensor& exponent,
                                             bool ste) const {
  const int64_t rank = x.dim();
  torch::Tensor scale = broadcast(torch::exp2(exponent), rank);
  torch::Tensor half = torch::exp2(broadcast(effective_bits(), rank) - 1);
  torch::Tensor v = torch::max(torch::min(x / scale, half - 1), -half);
  if (!ste) return torch::round(v);
  // v + (round(v) - v) equals round(v) exactly in float (the difference of two floats within a
  // factor of two is exact), so forward() and integer_form() agree bit for bit.
  return v + (torch::round(v) - v).detach();
}

torch::Tensor SelfCompressImpl::forward(const torch::Tensor& x) {
  check_input(x);
  if (!initialized()) initialize(x);
  torch::Tensor scale = broadcast(torch::exp2(exponent_), x.dim());
  return scaled_codes(x, exponent_, true) * scale;
}

bool SelfCompressImpl::initialized() const {
  return initialized_.item<int64_t>() != 0;
}

IntegerForm SelfCompressImpl::integer_form(const torch::Tensor& x) {
  check_input(x);
  torch::NoGradGuard no_grad;
  torch::Tensor e = initialized() ? exponent_.detach() : initial_exponent(x);
  IntegerForm form;
  form.codes = scaled_codes(x.detach(), e, false).to(torch::kInt32);
  form.scale = torch::exp2(e).to(torch::kFloat);
  if (e.numel() == 1) form.scale = form.scale.reshape({});
  form.zero_point = torch::zeros(form.scale.sizes(), torch::kInt32);
  form.bits = bits();
  form.is_signed = true;
  form.axis = e.numel() == 1 ? -1 : 0;
  form.code_min = -(int64_t{1} << (form.bits - 1));
  form.code_max = (int64_t{1} << (form.bits - 1)) - 1;
  return form;
}

int SelfCompressImpl::bits() const {
  const double b = effective_bits().detach().max().item<double>();
  return std::max(1, static_cast<int>(std::ceil(b)));
}

void SelfCompressImpl::set_bits(int bits) {
  if (bits < options_.min_bits || bits > kMaxBits) {
    throw SpecError("selfcompress: cannot set bits=" + std::to_string(bits) + "; expected " +
                    number(options_.min_bits) + "..16");
  }
  torch::NoGradGuard no_grad;
  bits_.fill_(static_cast<double>(bits));
}

void SelfCompressImpl::set_frozen(bool frozen) {
  QuantizerImpl::set_frozen(frozen);
  if (frozen) {
    torch::NoGradGuard no_grad;
    bits_.copy_(torch::round(effective_bits()).clamp_min(std::ceil(options_.min_bits)));
  }
  bits_.set_requires_grad(!frozen);
  exponent_.set_requires_grad(!frozen);
  // A zeroed but defined gradient would still let momentum and weight decay move them.
  if (frozen) {
    bits_.mutable_grad() = torch::Tensor();
    exponent_.mutable_grad() = torch::Tensor();
  }
}

QuantSpec SelfCompressImpl::spec() const {
  return QuantSpec("selfcompress", {{"bits", std::to_string(bits())},
                                    {"min_bits", number(options_.min_bits)},
                                    {"per_channel", options_.per_channel ? "1" : "0"}});
}

torch::Tensor SelfCompressImpl::levels(const torch::Tensor& x) {
  IntegerForm form = integer_form(x);
  torch::NoGradGuard no_grad;
  torch::Tensor b = effective_bits().detach().to(torch::kFloat);
  torch::Tensor half = torch::exp2(b - 1);
  torch::Tensor lo = torch::round(-half);
  torch::Tensor hi = torch::round(half - 1);
  const int64_t width = (hi - lo).max().item<int64_t>() + 1;
  torch::Tensor steps = torch::arange(width, torch::kFloat);
  // Row c: lo_c, lo_c + 1, ..., hi_c, then hi_c repeated.
  torch::Tensor codes =
      torch::min(lo.reshape({-1, 1}) + steps.reshape({1, -1}), hi.reshape({-1, 1}));
  torch::Tensor scale = form.scale.reshape({-1, 1}).to(codes.device());
  torch::Tensor values = codes * scale;
  if (form.axis < 0) return values.reshape({-1});
  return values.expand({x.size(0), width}).contiguous();
}

void SelfCompressImpl::clone_(torch::nn::Module& other,
                              const c10::optional<torch::Device>& device) {
  const auto* source = dynamic_cast<const SelfCompressImpl*>(&other);
  if (source == nullptr) {
    throw std::invalid_argument("selfcompress: cannot clone from a module of another type (" +
                                other.name() + ")");
  }
  options_ = source->options_;
  role_ = source->role_;
  torch::NoGradGuard no_grad;
  const torch::Device target = device.value_or(source->bits_.device());
  bits_.set_data(source->bits_.detach().to(target, false, true));
  exponent_.set_data(source->exponent_.detach().to(target, false, true));
  initialized_.set_data(source->initialized_.detach().to(target, false, true));
  set_frozen(source->frozen());
}

void add_self_compress_types(std::vector<QuantizerType>& types) {
  types.push_back(QuantizerType{
      "selfcompress",
      "self-compressing (Csordas et al. 2023): learned bit depth b and exponent e, "
      "q = 2^e * round(clamp(x / 2^e, -2^(b-1), 2^(b-1)-1)); b shrinks under the compression loss",
      {{"bits", "8", "initial bit depth, min_bits..16"},
       {"min_bits", "1", "floor of the learned bit depth, 0..16"},
       {"per_channel", "0", "1: one bit depth and exponent per output channel"}},
      {Role::kWeight},
      [](const QuantSpec& spec, Role role) -> Quantizer {
        SelfCompressOptions options;
        options.bits = spec.get_double("bits", 8.0);
        options.min_bits = spec.get_double("min_bits", 1.0);
        options.per_channel = spec.get_bool("per_channel", false);
        return std::make_shared<SelfCompressImpl>(options, role);
      }});
}

}  // namespace lowbit::quant
