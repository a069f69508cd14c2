// Range estimators: where a fixed grid puts its clipping levels. Each looks at a tensor (per tensor
// or per channel along axis 0) and returns the interval [lo, hi] the grid should cover.
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "lowbit/quant/spec.h"

namespace lowbit::quant {

/// A clipping interval: shape {} per tensor or {C} per channel along axis 0.
struct ClipRange {
  torch::Tensor lo;  ///< Lower clipping level (float32, <= 0 for magnitude estimators).
  torch::Tensor hi;  ///< Upper clipping level (float32).
};

/// Base of every range estimator. A module so that running statistics (EMA) save and load with the
/// quantizer that owns it.
class RangeEstimatorImpl : public torch::nn::Module {
 public:
  ~RangeEstimatorImpl() override = default;

  /// The clipping range for x on a grid of integer codes [qmin, qmax]; axis 0 per channel or -1
  /// per tensor. Never changes state; stateful estimators read their running statistics.
  virtual ClipRange estimate(const torch::Tensor& x, int64_t axis, int64_t qmin, int64_t qmax) = 0;

  /// Whether estimate() no longer reads x (running statistics are recorded); false for the
  /// estimators that compute their range from each input.
  virtual bool is_static() const { return false; }

  /// Updates running statistics from x in training mode when not frozen; stateless estimators
  /// ignore it.
  virtual void observe(const torch::Tensor& x, int64_t axis) {}

  /// Freezes (true) or releases the running statistics.
  void set_frozen(bool frozen) { frozen_ = frozen; }

  /// Whether the running statistics are frozen.
  bool frozen() const { return frozen_; }

  /// The name the `scale=` key uses for this estimator.
  virtual std::string name() const = 0;

 protected:
  bool frozen_ = false;
};

/// Shared handle to a range estimator.
using RangeEstimator = std::shared_ptr<RangeEstimatorImpl>;

/// Default of the `prop` key: absmean clips at prop * mean(|x|).
inline constexpr double kDefaultProp = 1.0;
/// Default of the `momentum` key: weight of the new batch in the EMA min/max observer.
inline constexpr double kDefaultMomentum = 0.1;
/// Default of the `percentile` key: the percentile clipping level, in percent.
inline constexpr double kDefaultPercentile = 99.9;
/// Number of candidate clipping levels the MSE search tries (evenly spaced up to max |x|).
inline constexpr int kMseCandidates = 100;
/// Fixed-point iterations OCTAV runs; it converges in far fewer on ordinary data.
inline constexpr int kOctavIterations = 30;

/// The rows the estimators reduce over: x as {C, N} per channel (axis 0) or {1, N} per tensor.
torch::Tensor estimator_rows(const torch::Tensor& x, int64_t axis);

/// Shapes a per-row statistic {R} as the estimate for `axis`: {} per tensor, {C} per channel.
torch::Tensor per_axis(const torch::Tensor& per_row, int64_t axis);

/// A symmetric range [-s, s] for rows whose minimum `row_min` is negative, [0, s] for the others.
ClipRange magnitude_range(const torch::Tensor& row_min, const torch::Tensor& s, int64_t axis);

/// clip at max |x|.
class AbsMaxEstimatorImpl : public RangeEstimatorImpl {
 public:
  /// See RangeEstimatorImpl::estimate.
  ClipRange estimate(const torch::Tensor& x, int64_t axis, int64_t qmin, int64_t qmax) override;
  /// "absmax".
  std::string name() const override { return "absmax"; }
};

/// Clip at prop * mean |x| (BitNetMCU's absmean scaling).
class AbsMeanEstimatorImpl : public RangeEstimatorImpl {
 public:
  /// An estimator clipping at prop * mean(|x|).
  explicit AbsMeanEstimatorImpl(double prop) : prop_(prop) {}
  /// See RangeEstimatorImpl::estimate.
  ClipRange estimate(const torch::Tensor& x, int64_t axis, int64_t qmin, int64_t qmax) override;
  /// "absmean".
  std::string name() const override { return "absmean"; }

 private:
  double prop_;
};

/// Clip at the batch's min and max (asymmetric).
class MinMaxEstimatorImpl : public RangeEstimatorImpl {
 public:
  /// See RangeEstimatorImpl::estimate.
  ClipRange estimate(const torch::Tensor& x, int64_t axis, int64_t qmin, int64_t qmax) override;
  /// "minmax".
  std::string name() const override { return "minmax"; }
};

/// Exponential moving average of min and max, kept in buffers `min_val`, `max_val`, `initialized`.
/// The first observed batch sets them; later ones move them by `momentum`. Before any observation
/// estimate() falls back to the batch's own min/max.
class EmaEstimatorImpl : public RangeEstimatorImpl {
 public:
  /// An EMA observer; momentum is the weight of each new batch.
  explicit EmaEstimatorImpl(double momentum);
  /// See RangeEstimatorImpl::estimate.
  ClipRange estimate(const torch::Tensor& x, int64_t axis, int64_t qmin, int64_t qmax) override;
  /// Moves the running min/max toward x's (training mode, not frozen only).
  void observe(const torch::Tensor& x, int64_t axis) override;
  /// "ema".
  std::string name() const override { return "ema"; }
  /// Static once the first batch has been observed.
  bool is_static() const override { return initialized(); }
  /// Whether a batch has been observed (or loaded).
  bool initialized() const;
  /// The running minimum ({} or {C}); meaningless before initialization.
  const torch::Tensor& running_min() const { return min_val_; }
  /// The running maximum ({} or {C}); meaningless before initialization.
  const torch::Tensor& running_max() const { return max_val_; }

 private:
  double momentum_;
  torch::Tensor min_val_;
  torch::Tensor max_val_;
  torch::Tensor initialized_;
};

/// Clip at the percentile p and 100 - p of x (both tails, by order statistics).
class PercentileEstimatorImpl : public RangeEstimatorImpl {
 public:
  /// An estimator clipping at percentile p (in (50, 100]).
  explicit PercentileEstimatorImpl(double percentile) : percentile_(percentile) {}
  /// See RangeEstimatorImpl::estimate.
  ClipRange estimate(const torch::Tensor& x, int64_t axis, int64_t qmin, int64_t qmax) override;
  /// "percentile".
  std::string name() const override { return "percentile"; }

 private:
  double percentile_;
};

/// Searches kMseCandidates clipping levels s = max|x| * k / kMseCandidates and keeps the one whose
/// quantization on the actual grid [qmin, qmax] has the least mean squared error.
class MseEstimatorImpl : public RangeEstimatorImpl {
 public:
  /// See RangeEstimatorImpl::estimate.
  ClipRange estimate(const torch::Tensor& x, int64_t axis, int64_t qmin, int64_t qmax) override;
  /// "mse".
  std::string name() const override { return "mse"; }
};

/// Builds the estimator a spec's `scale` key names (absmax, absmean, minmax, ema, percentile, mse,
/// octav; `fallback` when absent) with its `prop`, `momentum` and `percentile` keys. Throws
/// SpecError naming the key on an unknown name or a value out of range.
RangeEstimator make_range_estimator(const QuantSpec& spec, std::string_view fallback);

}  // namespace lowbit::quant
