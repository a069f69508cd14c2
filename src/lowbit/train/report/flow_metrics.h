// Optical-flow metrics: the average endpoint error (AEE) and the outlier share (KITTI's Fl:
// error above 3 px and above 5% of the ground-truth magnitude), over the pixels that have events
// and valid ground truth, as event-based flow papers (EV-FlowNet, Spike-FlowNet) report them.
#pragma once

#include <torch/types.h>

#include <cstdint>

namespace lowbit::train {

/// Endpoint-error statistics of one or more batches of flow predictions.
struct FlowMetrics {
  double aee = 0.0;            ///< Mean endpoint error |pred - gt|_2 in pixels (NaN if no pixel).
  double outlier_share = 0.0;  ///< Share of pixels with error > 3 px and > 5% |gt| (NaN if none).
  int64_t pixels = 0;          ///< Pixels measured (events and valid ground truth).
};

/// An outlier has an endpoint error above this many pixels...
inline constexpr double kFlowOutlierPixels = 3.0;
/// ... and above this share of the ground-truth flow's magnitude.
inline constexpr double kFlowOutlierRelative = 0.05;

/// AEE and outlier share of `prediction` [N, 2, H, W] (u, v) against `target` [N, 3, H, W]
/// (u, v, valid; data/events/event_flow.h) over the pixels where valid is non-zero and `event_mask`
/// [N, H, W] is non-zero (undefined: every valid pixel). Throws std::invalid_argument naming the
/// shapes when they disagree.
FlowMetrics compute_flow_metrics(const torch::Tensor& prediction, const torch::Tensor& target,
                                 const torch::Tensor& event_mask);

/// The metrics of the union of the pixels of `a` and `b` (pixel-weighted means).
FlowMetrics combine_flow_metrics(const FlowMetrics& a, const FlowMetrics& b);

}  // namespace lowbit::train
