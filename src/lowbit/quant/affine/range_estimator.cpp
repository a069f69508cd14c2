#include "lowbit/quant/affine/range_estimator.h"

#include <torch/autograd.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "lowbit/quant/affine/affine_grid.h"
#include "lowbit/quant/affine/octav.h"

namespace lowbit::quant {

torch::Tensor estimator_rows(const torch::Tensor& x, int64_t axis) {
  const torch::Tensor v = x.detach().to(torch::kFloat32);
  if (axis < 0 || v.dim() == 0) return v.reshape({1, -1});
  return v.reshape({v.size(0), -1});
}

torch::Tensor per_axis(const torch::Tensor& per_row, int64_t axis) {
  return axis < 0 ? per_row.reshape({}) : per_row;
}

ClipRange magnitude_range(const torch::Tensor& row_min, const torch::Tensor& s, int64_t axis) {
  // A grid for data without negatives should not spend codes on them (e.g. after a ReLU).
  const torch::Tensor has_negative = row_min < 0;
  const torch::Tensor lo = torch::where(has_negative, -s, torch::zeros_like(s));
  return {per_axis(lo, axis), per_axis(s, axis)};
}

ClipRange AbsMaxEstimatorImpl::estimate(const torch::Tensor& x, int64_t axis, int64_t /*qmin*/,
                                        int64_t /*qmax*/) {
  const torch::Tensor rows = estimator_rows(x, axis);
  // amin and amax rather than one aminmax call: LibTorch 1.13's aminmax along a dimension is
  // about 20x slower than the two plain reductions (measured: 158 us vs 7 us at 64K elements).
  const torch::Tensor row_min = rows.amin(1);
  const torch::Tensor row_max = rows.amax(1);
  return magnitude_range(row_min, torch::maximum(-row_min, row_max), axis);
}

ClipRange AbsMeanEstimatorImpl::estimate(const torch::Tensor& x, int64_t axis, int64_t /*qmin*/,
                                         int64_t /*qmax*/) {
  const torch::Tensor rows = estimator_rows(x, axis);
  return magnitude_range(std::get<0>(rows.min(1)), rows.abs().mean(1) * prop_, axis);
}

ClipRange MinMaxEstimatorImpl::estimate(const torch::Tensor& x, int64_t axis, int64_t /*qmin*/,
                                        int64_t /*qmax*/) {
  const torch::Tensor rows = estimator_rows(x, axis);
  return {per_axis(std::get<0>(rows.min(1)), axis), per_axis(std::get<0>(rows.max(1)), axis)};
}

EmaEstimatorImpl::EmaEstimatorImpl(double momentum) : momentum_(momentum) {
  min_val_ = register_buffer("min_val", torch::zeros({}));
  max_val_ = register_buffer("max_val", torch::zeros({}));
  initialized_ = register_buffer("initialized", torch::zeros({}, torch::kInt32));
}

bool EmaEstimatorImpl::initialized() const {
  return initialized_.item<int32_t>() != 0;
}

void EmaEstimatorImpl::observe(const torch::Tensor& x, int64_t axis) {
  if (!is_training() || frozen_) return;
  torch::NoGradGuard no_grad;
  const torch::Tensor rows = estimator_rows(x, axis);
  const torch::Tensor batch_min = per_axis(std::get<0>(rows.min(1)), axis);
  const torch::Tensor batch_max = per_axis(std::get<0>(rows.max(1)), axis);
  if (!initialized() || min_val_.sizes() != batch_min.sizes()) {
    // set_ keeps the registered buffer object, so the module's buffer list sees the new shape.
    min_val_.set_(batch_min.clone());
    max_val_.set_(batch_max.clone());
    initialized_.fill_(1);
    return;
  }
  min_val_.lerp_(batch_min.to(min_val_.device()), momentum_);
  max_val_.lerp_(batch_max.to(max_val_.device()), momentum_);
}

ClipRange EmaEstimatorImpl::estimate(const torch::Tensor& x, int64_t axis, int64_t /*qmin*/,
                                     int64_t /*qmax*/) {
  const torch::Tensor rows = estimator_rows(x, axis);
  const int64_t channels = axis < 0 ? 1 : rows.size(0);
  if (initialized() && min_val_.numel() == channels) {
    return {per_axis(min_val_.detach().reshape({channels}), axis).clone(),
            per_axis(max_val_.detach().reshape({channels}), axis).clone()};
  }
  return {per_axis(std::get<0>(rows.min(1)), axis), per_axis(std::get<0>(rows.max(1)), axis)};
}

ClipRange PercentileEstimatorImpl::estimate(const torch::Tensor& x, int64_t axis, int64_t /*qmin*/,
                                            int64_t /*qmax*/) {
  const torch::Tensor rows = estimator_rows(x, axis);
  const int64_t n = rows.size(1);
  const double p = percentile_ / 100.0;
  // Order statistics rather than interpolation: the clipping level is a value x actually holds.
  const int64_t k_hi = std::clamp<int64_t>(static_cast<int64_t>(std::ceil(p * n)), 1, n);
  const int64_t k_lo = std::clamp<int64_t>(n + 1 - k_hi, 1, n);
  const torch::Tensor hi = std::get<0>(rows.kthvalue(k_hi, 1));
  const torch::Tensor lo = std::get<0>(rows.kthvalue(k_lo, 1));
  return {per_axis(lo, axis), per_axis(hi, axis)};
}

ClipRange MseEstimatorImpl::estimate(const torch::Tensor& x, int64_t axis, int64_t qmin,
                                     int64_t qmax) {
  const torch::Tensor rows = estimator_rows(x, axis);
  const torch::Tensor amax = std::get<0>(rows.abs().max(1));
  const torch::Tensor has_negative = std::get<0>(rows.min(1)) < 0;
  torch::Tensor best_err = torch::full_like(amax, std::numeric_limits<float>::infinity());
  torch::Tensor best_s = amax.clone();
  for (int k = 1; k <= kMseCandidates; ++k) {
    const torch::Tensor s = amax * (static_cast<float>(k) / kMseCandidates);
    const ClipRange range{torch::where(has_negative, -s, torch::zeros_like(s)), s};
    // The candidate is scored on the grid the quantizer will really use (per row).
    const AffineGrid grid = affine_grid(range, qmin, qmax, 0);
    const torch::Tensor q =
        (grid_codes(rows, grid) - grid.zero_point.unsqueeze(1)).to(torch::kFloat32) *
        grid.scale.unsqueeze(1);
    const torch::Tensor err = (q - rows).square().mean(1);
    const torch::Tensor better = err < best_err;
    best_err = torch::where(better, err, best_err);
    best_s = torch::where(better, s, best_s);
  }
  return magnitude_range(std::get<0>(rows.min(1)), best_s, axis);
}

RangeEstimator make_range_estimator(const QuantSpec& spec, std::string_view fallback) {
  const std::string name = spec.get_choice(
      "scale", fallback, {"absmax", "absmean", "minmax", "ema", "percentile", "mse", "octav"});
  const double prop = spec.get_double("prop", kDefaultProp);
  const double momentum = spec.get_double("momentum", kDefaultMomentum);
  const double percentile = spec.get_double("percentile", kDefaultPercentile);
  if (!(prop > 0)) {
    throw SpecError("quantizer spec '" + spec.str() + "': parameter 'prop' must be > 0");
  }
  if (!(momentum > 0 && momentum <= 1)) {
    throw SpecError("quantizer spec '" + spec.str() + "': parameter 'momentum' must be in (0, 1]");
  }
  if (!(percentile > 50 && percentile <= 100)) {
    throw SpecError("quantizer spec '" + spec.str() +
                    "': parameter 'percentile' must be in (50, 100]");
  }
  if (name == "absmax") return std::make_shared<AbsMaxEstimatorImpl>();
  if (name == "absmean") return std::make_shared<AbsMeanEstimatorImpl>(prop);
  if (name == "minmax") return std::make_shared<MinMaxEstimatorImpl>();
  if (name == "ema") return std::make_shared<EmaEstimatorImpl>(momentum);
  if (name == "percentile") return std::make_shared<PercentileEstimatorImpl>(percentile);
  if (name == "mse") return std::make_shared<MseEstimatorImpl>();
  return std::make_shared<OctavEstimatorImpl>();
}

}  // namespace lowbit::quant
