// OCTAV (Sakr et al. 2022, "Optimal Clipping and Magnitude-aware Differentiation for Improved
// Quantization-aware Training"): the MSE-optimal clipping level by fixed-point iteration.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>

#include "lowbit/quant/affine/range_estimator.h"

namespace lowbit::quant {

/// The OCTAV clipping level of each row of `abs_rows` ({R, N}, values |x|) for a B-bit grid: the
/// minimum of the paper's MSE model J(s) = (4^-B / 3) s^2 P(|x|<=s) + E[(|x|-s)^2 1{|x|>s}],
/// found by OCTAV's fixed-point recursion with the density term of J'(s) restored (a kernel
/// estimate of the density of |x| at s), which the published recursion drops. Starts from
/// mean |x| and runs `iterations` steps. Returns {R}.
torch::Tensor octav_clip(const torch::Tensor& abs_rows, double bits,
                         int iterations = kOctavIterations);

/// Range estimator clipping at the OCTAV level for the grid's bit count log2(qmax - qmin + 1).
class OctavEstimatorImpl : public RangeEstimatorImpl {
 public:
  /// See RangeEstimatorImpl::estimate.
  ClipRange estimate(const torch::Tensor& x, int64_t axis, int64_t qmin, int64_t qmax) override;
  /// "octav".
  std::string name() const override { return "octav"; }
};

}  // namespace lowbit::quant
