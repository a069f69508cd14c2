// Chooses the best epoch of a stage by one named metric, to decide which checkpoint to keep.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "lowbit/config/config_reader.h"

namespace lowbit::train {

/// Whether larger or smaller values of the metric are better.
enum class MetricMode {
  kMax,  ///< larger is better (accuracy, AUC)
  kMin,  ///< smaller is better (loss)
};

/// The mode implied by a metric name, as Keras' "auto": names containing "acc" or "auc" are
/// maximized, names containing "loss", "aee", "epe", "outlier", "error", "mae" or "mse"
/// minimized; throws std::invalid_argument otherwise.
MetricMode infer_metric_mode(const std::string& metric);

/// Tracks the best value of one metric over epochs.
class BestMetricTracker {
 public:
  /// Tracks `metric`; a value is a new best only if it beats the best by more than `min_delta`.
  BestMetricTracker(std::string metric, MetricMode mode, double min_delta = 0.0);

  /// Reads a `best:` section: `metric` (default val_accuracy), `mode` (auto, max, min; default
  /// auto) and `min_delta` (>= 0, default 0).
  static BestMetricTracker from_config(const config::ConfigNode& node);

  /// Records epoch `epoch`'s metrics; returns true if it is the new best. NaN never is. Throws
  /// std::invalid_argument naming the available metrics if the tracked one is missing.
  bool update(int64_t epoch, const std::map<std::string, double>& metrics);

  /// True once some epoch was recorded as best.
  bool has_best() const { return best_epoch_ >= 0; }
  /// The best value so far; throws std::logic_error before the first best.
  double best_value() const;
  /// The epoch of the best value, -1 before the first best.
  int64_t best_epoch() const { return best_epoch_; }
  /// The tracked metric's name.
  const std::string& metric() const { return metric_; }
  /// Whether larger or smaller is better.
  MetricMode mode() const { return mode_; }

 private:
  std::string metric_;
  MetricMode mode_;
  double min_delta_;
  double best_ = 0.0;
  int64_t best_epoch_ = -1;
};

}  // namespace lowbit::train
