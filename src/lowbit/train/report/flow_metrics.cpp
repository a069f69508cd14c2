#include "lowbit/train/report/flow_metrics.h"

#include <limits>
#include <stdexcept>
#include <string>

#include "lowbit/util/shape_text.h"

namespace lowbit::train {
FlowMetrics compute_flow_metrics(const torch::Tensor& prediction, const torch::Tensor& target,
                                 const torch::Tensor& event_mask) {
  if (prediction.dim() != 4 || prediction.size(1) != 2 || target.dim() != 4 ||
      target.size(1) != 3 || prediction.size(0) != target.size(0) ||
      prediction.size(2) != target.size(2) || prediction.size(3) != target.size(3)) {
    throw std::invalid_argument(
        "compute_flow_metrics: expected prediction [N, 2, H, W] and target "
        "[N, 3, H, W] of one N, H, W, got " +
        util::shape_text(prediction.sizes()) + " and " + util::shape_text(target.sizes()));
  }
  const torch::Tensor pred = prediction.detach().to(torch::kCPU, torch::kDouble);
  const torch::Tensor truth = target.detach().to(torch::kCPU, torch::kDouble);
  torch::Tensor mask = truth.select(1, 2).ne(0);
  if (event_mask.defined()) {
    if (event_mask.sizes() != mask.sizes()) {
      throw std::invalid_argument(
          "compute_flow_metrics: event mask " + util::shape_text(event_mask.sizes()) +
          " does not match the flow's [N, H, W] " + util::shape_text(mask.sizes()));
    }
    mask = mask.logical_and(event_mask.detach().to(torch::kCPU).ne(0));
  }
  const torch::Tensor gt = truth.slice(1, 0, 2);
  const torch::Tensor error = (pred - gt).pow(2).sum(1).sqrt();
  const torch::Tensor magnitude = gt.pow(2).sum(1).sqrt();
  const torch::Tensor outlier = error.gt(kFlowOutlierPixels)
                                    .logical_and(error.gt(kFlowOutlierRelative * magnitude))
                                    .logical_and(mask);
  FlowMetrics m;
  m.pixels = mask.sum().item<int64_t>();
  if (m.pixels == 0) {
    m.aee = m.outlier_share = std::numeric_limits<double>::quiet_NaN();
    return m;
  }
  m.aee = error.masked_select(mask).sum().item<double>() / static_cast<double>(m.pixels);
  m.outlier_share =
      static_cast<double>(outlier.sum().item<int64_t>()) / static_cast<double>(m.pixels);
  return m;
}

FlowMetrics combine_flow_metrics(const FlowMetrics& a, const FlowMetrics& b) {
  if (a.pixels == 0) return b;
  if (b.pixels == 0) return a;
  FlowMetrics m;
  m.pixels = a.pixels + b.pixels;
  const double wa = static_cast<double>(a.pixels) / static_cast<double>(m.pixels);
  const double wb = static_cast<double>(b.pixels) / static_cast<double>(m.pixels);
  m.aee = wa * a.aee + wb * b.aee;
  m.outlier_share = wa * a.outlier_share + wb * b.outlier_share;
  return m;
}

}  // namespace lowbit::train
