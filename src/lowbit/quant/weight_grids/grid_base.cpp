#include "lowbit/quant/weight_grids/grid_base.h"

#include <torch/autograd.h>

#include <cstdlib>
#include <sstream>
#include <stdexcept>

#include "lowbit/quant/ste.h"

namespace lowbit::quant {
namespace {

torch::Tensor per_slice(const torch::Tensor& x) {
  if (x.dim() < 1) {
    throw std::invalid_argument(
        "per-channel grid quantizer: input must have at least one "
        "dimension (channels along axis 0), got a scalar");
  }
  return x.reshape({x.size(0), -1});
}

}  // namespace

SteMode parse_ste_mode(const QuantSpec& spec, SteMode fallback) {
  return spec.get_choice("ste", ste_mode_name(fallback), {"clip", "plain"}) == "clip"
             ? SteMode::kClip
             : SteMode::kPlain;
}

std::string ste_mode_name(SteMode mode) {
  return mode == SteMode::kClip ? "clip" : "plain";
}

std::string format_real(double v) {
  for (int digits = 6; digits < 17; ++digits) {
    std::ostringstream out;
    out.precision(digits);
    out << v;
    if (std::strtod(out.str().c_str(), nullptr) == v) return out.str();
  }
  std::ostringstream out;
  out.precision(17);
  out << v;
  return out.str();
}

torch::Tensor absmean_stat(const torch::Tensor& x, bool per_channel) {
  const torch::Tensor a = x.detach().to(torch::kFloat32).abs();
  return (per_channel ? per_slice(a).mean(1) : a.mean()).clamp_min(kScaleStatEps);
}

torch::Tensor absmax_stat(const torch::Tensor& x, bool per_channel) {
  const torch::Tensor a = x.detach().to(torch::kFloat32).abs();
  return (per_channel ? std::get<0>(per_slice(a).max(1)) : a.max()).clamp_min(kScaleStatEps);
}

GridQuantizerImpl::GridQuantizerImpl(bool per_channel, SteMode ste)
    : per_channel_(per_channel), ste_(ste) {
  stat_ = register_buffer("stat", torch::empty({0}, torch::kFloat32));
}

torch::Tensor GridQuantizerImpl::current_stat(const torch::Tensor& x) const {
  if (frozen() && stat_.numel() > 0) {
    const int64_t expected = per_channel_ ? x.size(0) : 1;
    if (stat_.numel() != expected) {
      throw std::invalid_argument("grid quantizer '" + spec().str() + "': the frozen scale has " +
                                  std::to_string(stat_.numel()) + " entries but the input needs " +
                                  std::to_string(expected));
    }
    return stat_;
  }
  return compute_stat(x.detach().to(torch::kFloat32));
}

IntegerForm GridQuantizerImpl::form_for(const torch::Tensor& x, const torch::Tensor& stat) const {
  IntegerForm form;
  form.axis = per_channel_ ? 0 : -1;
  form.scale = scale_from_stat(stat).to(torch::kFloat32);
  form.zero_point = torch::zeros(form.scale.sizes(), form.scale.options().dtype(torch::kInt32));
  const torch::Tensor s = broadcast_along(form.scale, form.axis, x.dim());
  form.codes = encode(x.detach().to(torch::kFloat32), s).to(torch::kInt32);
  describe(form);
  if (form.levels.defined()) form.levels = form.levels.to(x.device());
  return form;
}

IntegerForm GridQuantizerImpl::integer_form(const torch::Tensor& x) {
  return form_for(x, current_stat(x));
}

torch::Tensor GridQuantizerImpl::forward(const torch::Tensor& x) {
  const torch::Tensor stat = current_stat(x);
  if (is_training() && !frozen()) {
    torch::NoGradGuard no_grad;
    stat_.set_data(stat.detach().clone());
  }
  const IntegerForm form = form_for(x, stat);
  const torch::Tensor q = form.dequantize();
  if (ste_ == SteMode::kPlain) return straight_through(x, q);
  // The grid's span per tensor or channel: its lowest and highest levels at this scale.
  IntegerForm ends = form;
  ends.codes = torch::tensor({form.code_min, form.code_max}, torch::kInt32).to(x.device());
  ends.axis = -1;
  if (per_channel_) {
    ends.codes = ends.codes.unsqueeze(1).expand({2, form.scale.numel()}).contiguous();
    ends.axis = 1;
  }
  const torch::Tensor span = ends.dequantize();
  return straight_through(x, q, broadcast_along(span[0], form.axis, x.dim()),
                          broadcast_along(span[1], form.axis, x.dim()));
}

torch::Tensor GridQuantizerImpl::levels(const torch::Tensor& x) {
  IntegerForm form;
  describe(form);
  const torch::Tensor scale = scale_from_stat(current_stat(x)).to(torch::kFloat32);
  const torch::Tensor codes = all_codes().to(scale.device());
  const torch::Tensor unit = form.levels.defined()
                                 ? form.levels.to(scale.device()).index_select(0, codes)
                                 : codes.to(torch::kFloat32);
  return per_channel_ ? unit.unsqueeze(0) * scale.unsqueeze(1) : unit * scale;
}

void GridQuantizerImpl::add_common_params(QuantSpec& spec) const {
  spec.set("per_channel", per_channel_ ? "1" : "0");
  spec.set("ste", ste_mode_name(ste_));
}

}  // namespace lowbit::quant
