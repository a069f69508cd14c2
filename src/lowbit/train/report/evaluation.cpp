#include "lowbit/train/report/evaluation.h"

#include <torch/autograd.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "lowbit/data/events/event_repr.h"
#include "lowbit/train/report/flow_metrics.h"
#include "lowbit/train/report/metrics.h"

namespace lowbit::train {

BatchScores score_batch(const LossConfig& loss, const torch::Tensor& output,
                        const torch::Tensor& target) {
  BatchScores s;
  const torch::Tensor out = output.detach();
  switch (loss.type) {
    case LossType::kCrossEntropy: {
      AccuracyCount c = multiclass_accuracy(out, target);
      s.correct = c.correct;
      s.total = c.total;
      if (out.dim() == 2 && out.size(1) == 2) s.scores = torch::softmax(out, 1).select(1, 1);
      break;
    }
    case LossType::kBinaryCrossEntropy:
    case LossType::kBinaryCrossEntropyWithLogits: {
      torch::Tensor p = out.reshape({-1});
      if (loss.type == LossType::kBinaryCrossEntropyWithLogits) p = torch::sigmoid(p);
      AccuracyCount c = binary_accuracy(p, target);
      s.correct = c.correct;
      s.total = c.total;
      s.scores = p;
      break;
    }
    case LossType::kMse:
    case LossType::kFlowEpe:
    case LossType::kCharbonnier:
      break;
  }
  return s;
}

EvalResult evaluate(torch::nn::AnyModule& model, const data::Dataset& dataset,
                    const LossConfig& loss, int64_t batch_size) {
  EvalResult result;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (dataset.size() == 0) return {nan, nan, nan, nan, nan};
  model.ptr()->eval();
  torch::NoGradGuard no_grad;
  RunningMean mean_loss;
  int64_t correct = 0, total = 0;
  std::vector<torch::Tensor> scores;
  const bool flow = is_flow_loss(loss.type);
  FlowMetrics flow_metrics;
  for (int64_t start = 0; start < dataset.size(); start += batch_size) {
    const int64_t end = std::min(dataset.size(), start + batch_size);
    torch::Tensor x = dataset.inputs.slice(0, start, end);
    torch::Tensor y = dataset.targets.slice(0, start, end);
    torch::Tensor out = model.forward(x);
    mean_loss.add(compute_loss(loss, out, y).item<double>(), static_cast<double>(end - start));
    BatchScores s = score_batch(loss, out, y);
    correct += s.correct;
    total += s.total;
    if (s.scores.defined()) scores.push_back(s.scores);
    if (flow) {
      const torch::Tensor events =
          x.dim() == 5 && x.size(2) == 2 ? data::event_pixel_mask(x) : torch::Tensor();
      flow_metrics = combine_flow_metrics(flow_metrics, compute_flow_metrics(out, y, events));
    }
  }
  if (flow) {
    result.aee = flow_metrics.pixels > 0 ? flow_metrics.aee : nan;
    result.outliers = flow_metrics.pixels > 0 ? flow_metrics.outlier_share : nan;
  }
  result.loss = mean_loss.mean();
  result.accuracy = total > 0 ? static_cast<double>(correct) / static_cast<double>(total) : nan;
  result.auc = nan;
  if (!scores.empty()) {
    try {
      result.auc = roc_auc(torch::cat(scores), dataset.targets);
    } catch (const std::invalid_argument&) {
      // One class absent: the AUC is undefined and stays NaN.
    }
  }
  return result;
}

}  // namespace lowbit::train
