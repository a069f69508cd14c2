#include "lowbit/train/checkpoint/best_metric_tracker.h"

#include <cmath>
#include <stdexcept>
#include <utility>

namespace lowbit::train {

MetricMode infer_metric_mode(const std::string& metric) {
  if (metric.find("acc") != std::string::npos || metric.find("auc") != std::string::npos) {
    return MetricMode::kMax;
  }
  // Errors: the losses, the flow's endpoint error (aee, epe) and outlier share.
  for (const char* lower_is_better : {"loss", "aee", "epe", "outlier", "error", "mae", "mse"}) {
    if (metric.find(lower_is_better) != std::string::npos) return MetricMode::kMin;
  }
  throw std::invalid_argument("cannot tell whether metric '" + metric +
                              "' should be maximized or minimized; give mode: max or mode: min");
}

BestMetricTracker::BestMetricTracker(std::string metric, MetricMode mode, double min_delta)
    : metric_(std::move(metric)), mode_(mode), min_delta_(min_delta) {
  if (!(min_delta_ >= 0.0)) {
    throw std::invalid_argument("BestMetricTracker: min_delta must be >= 0, got " +
                                std::to_string(min_delta_));
  }
}

BestMetricTracker BestMetricTracker::from_config(const config::ConfigNode& node) {
  const std::string metric = node.get<std::string>("metric", "val_accuracy");
  const std::string mode = node.choice("mode", "auto", {"auto", "max", "min"});
  const double min_delta = node.get_in_range<double>("min_delta", 0.0, 0.0, 1e9);
  node.done();
  MetricMode resolved = MetricMode::kMax;
  if (mode == "auto") {
    try {
      resolved = infer_metric_mode(metric);
    } catch (const std::invalid_argument& error) {
      node.fail("mode", error.what());
    }
  } else {
    resolved = mode == "max" ? MetricMode::kMax : MetricMode::kMin;
  }
  return BestMetricTracker(metric, resolved, min_delta);
}

bool BestMetricTracker::update(int64_t epoch, const std::map<std::string, double>& metrics) {
  const auto found = metrics.find(metric_);
  if (found == metrics.end()) {
    std::string available;
    for (const auto& entry : metrics) available += (available.empty() ? "" : ", ") + entry.first;
    throw std::invalid_argument("best checkpoint metric '" + metric_ +
                                "' is not computed; available metrics: " + available);
  }
  const double value = found->second;
  if (std::isnan(value)) return false;
  const bool better = !has_best() || (mode_ == MetricMode::kMax ? value > best_ + min_delta_
                                                                : value < best_ - min_delta_);
  if (better) {
    best_ = value;
    best_epoch_ = epoch;
  }
  return better;
}

double BestMetricTracker::best_value() const {
  if (!has_best()) throw std::logic_error("BestMetricTracker: no epoch recorded yet");
  return best_;
}

}  // namespace lowbit::train
