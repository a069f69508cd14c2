#include "lowbit/quant/octav.h"

#include <cmath>

namespace lowbit::quant {

torch::Tensor octav_clip(const torch::Tensor& abs_rows, double bits, int iterations) {
  const torch::Tensor a = abs_rows.detach().to(torch::kFloat64);
  // The paper's noise model: a B-bit grid on [-s, s] has step 2s/2^B and noise step^2/12.
  const double noise = std::pow(4.0, -bits) / 3.0;
  torch::Tensor s = a.mean(1);
  for (int i = 0; i < iterations; ++i) {
    const torch::Tensor beyond = (a > s.unsqueeze(1)).to(torch::kFloat64);
    const torch::Tensor p_beyond = beyond.mean(1);
    const torch::Tensor next = (a * beyond).mean(1) / (noise * (1.0 - p_beyond) + p_beyond);
    // A level at or above max |x| has no tail and would send the next step to 0: keep the last.
    s = torch::where(next > 0, next, s);
  }
  return s.to(torch::kFloat32);
}

ClipRange OctavEstimatorImpl::estimate(const torch::Tensor& x, int64_t axis, int64_t qmin,
                                       int64_t qmax) {
  const torch::Tensor rows = estimator_rows(x, axis);
  const double bits = std::log2(static_cast<double>(qmax - qmin + 1));
  return magnitude_range(std::get<0>(rows.min(1)), octav_clip(rows.abs(), bits), axis);
}

}  // namespace lowbit::quant
