#include "lowbit/nn/integer_lif.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "lowbit/util/shape_text.h"

namespace lowbit::nn {
namespace {

void require(bool ok, const std::string& what) {
  if (!ok) throw std::invalid_argument("integer LIF: " + what);
}

// std::round rounds halves away from zero, the spec's round_half_away; the clamp keeps a
// threshold far above any membrane representable instead of overflowing.
int32_t round_half_away_int32(double x) {
  const double r = std::round(x);
  if (r >= static_cast<double>(std::numeric_limits<int32_t>::max())) {
    return std::numeric_limits<int32_t>::max();
  }
  if (r <= static_cast<double>(std::numeric_limits<int32_t>::min())) {
    return std::numeric_limits<int32_t>::min();
  }
  return static_cast<int32_t>(r);
}

std::vector<double> values_of(const torch::Tensor& t) {
  const torch::Tensor flat = t.detach().to(torch::kCPU, torch::kFloat64).contiguous().view({-1});
  const double* data = flat.data_ptr<double>();
  return std::vector<double>(data, data + flat.numel());
}

// `values` (one, or one per channel) as an int64 tensor broadcasting against [B, C, ...].
torch::Tensor along_channels(const std::vector<int32_t>& values, const torch::Tensor& like) {
  torch::Tensor t = torch::empty({static_cast<int64_t>(values.size())}, torch::kInt64);
  int64_t* data = t.data_ptr<int64_t>();
  for (size_t i = 0; i < values.size(); ++i) data[i] = values[i];
  t = t.to(like.device());
  if (values.size() == 1) return t.select(0, 0);  // view({}) would be view(dtype)
  std::vector<int64_t> shape(static_cast<size_t>(like.dim() - 1), 1);
  shape[0] = static_cast<int64_t>(values.size());
  return t.view(shape);
}

}  // namespace

IntegerLifConstants integer_lif_constants(const LeakyImpl& lif, double current_step) {
  require(std::isfinite(current_step) && current_step > 0.0,
          "the current's grid step must be positive, got " + std::to_string(current_step));
  IntegerLifConstants c;
  for (double thr : values_of(lif.threshold)) {
    c.threshold.push_back(std::max(int32_t{1}, round_half_away_int32(thr / current_step)));
  }
  for (double beta : values_of(lif.effective_beta())) {
    c.beta_q15.push_back(round_half_away_int32(beta * 32768.0));
  }
  c.leak_shift = lif.options.leak_shift();
  c.membrane_bits = lif.options.membrane_bits();
  c.reset = lif.mechanism();
  c.reset_delay = lif.options.reset_delay();
  return c;
}

IntegerLifStep integer_lif_step(const torch::Tensor& current, const torch::Tensor& membrane,
                                const torch::Tensor& pending_reset,
                                const IntegerLifConstants& constants) {
  const IntegerLifConstants& c = constants;
  for (const torch::Tensor* t : {&current, &membrane, &pending_reset}) {
    require(t->defined() && t->scalar_type() == torch::kInt64,
            "the current, membrane and pending reset must be int64 tensors");
  }
  require(membrane.sizes() == current.sizes() && pending_reset.sizes() == current.sizes(),
          "membrane " + util::shape_text(membrane.sizes()) + " and pending reset " +
              util::shape_text(pending_reset.sizes()) + " must have the current's shape " +
              util::shape_text(current.sizes()));
  require(c.membrane_bits == 16 || c.membrane_bits == 32,
          "membrane_bits must be 16 or 32, got " + std::to_string(c.membrane_bits));
  require(c.leak_shift >= 0 && c.leak_shift <= 15,
          "leak_shift must be 0 to 15, got " + std::to_string(c.leak_shift));
  require(!c.threshold.empty() && c.beta_q15.size() == c.threshold.size(),
          "threshold and beta_q15 need the same count (1 or channels)");
  if (c.threshold.size() > 1) {
    require(current.dim() >= 2 && current.size(1) == static_cast<int64_t>(c.threshold.size()),
            "per-channel constants for " + std::to_string(c.threshold.size()) +
                " channels, but the current is " + util::shape_text(current.sizes()));
  }
  const int64_t hi = c.membrane_bits == 16 ? std::numeric_limits<int16_t>::max()
                                           : std::numeric_limits<int32_t>::max();
  const int64_t lo = c.membrane_bits == 16 ? std::numeric_limits<int16_t>::min()
                                           : std::numeric_limits<int32_t>::min();
  const auto sat = [&](const torch::Tensor& u) { return u.clamp(lo, hi); };
  const torch::Tensor thr = along_channels(c.threshold, current);
  // Integer division rounding to minus infinity is the spec's fdiv for negative membranes too.
  const auto leak = [&](const torch::Tensor& u) {
    if (c.leak_shift > 0) return u - torch::div(u, int64_t{1} << c.leak_shift, "floor");
    return torch::div(u * along_channels(c.beta_q15, current) + 16384, 32768, "floor");
  };
  const torch::Tensor zero = torch::zeros_like(current);
  torch::Tensor u;
  torch::Tensor s;
  if (c.reset_delay) {
    const torch::Tensor pending = pending_reset != 0;
    switch (c.reset) {
      case ResetMechanism::kSubtract:
        u = sat(leak(membrane) + current - torch::where(pending, thr.expand_as(current), zero));
        break;
      case ResetMechanism::kZero:
        u = sat(torch::where(pending, zero, leak(membrane)) + current);
        break;
      case ResetMechanism::kNone:
        u = sat(leak(membrane) + current);
        break;
    }
    s = (u > thr).to(torch::kInt64);
    return {u, s, s};
  }
  u = sat(leak(membrane) + current);
  s = (u > thr).to(torch::kInt64);
  const torch::Tensor fired = s != 0;
  if (c.reset == ResetMechanism::kSubtract) u = torch::where(fired, u - thr, u);
  if (c.reset == ResetMechanism::kZero) u = torch::where(fired, zero, u);
  return {u, zero, s};
}

}  // namespace lowbit::nn
