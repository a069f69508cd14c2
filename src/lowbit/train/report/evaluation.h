// Evaluation of a model on a whole data set: mean loss, accuracy and (for binary tasks) ROC AUC,
// computed from the model's outputs the way the stage's loss reads them.
#pragma once

#include <torch/nn/modules/container/any.h>
#include <torch/types.h>

#include <cstdint>
#include <limits>
#include <map>
#include <string>

#include "lowbit/data/dataset.h"
#include "lowbit/train/loss.h"

namespace lowbit::train {

/// Loss, accuracy, AUC and flow errors of one evaluation; NaN where undefined (accuracy for MSE
/// and flow, AUC for non-binary tasks or when one class is absent, the flow errors for anything
/// but a flow loss).
struct EvalResult {
  double loss = 0.0;      ///< Mean loss.
  double accuracy = 0.0;  ///< Fraction of correct predictions.
  double auc = 0.0;       ///< ROC AUC of the positive class (binary tasks).
  /// Flow losses: average endpoint error over pixels with events and valid ground truth.
  double aee = std::numeric_limits<double>::quiet_NaN();
  /// Flow losses: share of those pixels with error > 3 px and > 5% of |gt| (flow_metrics.h).
  double outliers = std::numeric_limits<double>::quiet_NaN();
};

/// Positive-class scores and accuracy counts of a batch of outputs, as the loss reads them:
/// logits through softmax/sigmoid, probabilities as they are.
struct BatchScores {
  int64_t correct = 0;   ///< Correct predictions in the batch.
  int64_t total = 0;     ///< Predictions in the batch (0 when accuracy is undefined).
  torch::Tensor scores;  ///< Positive-class scores [B] (undefined unless binary).
};

/// Scores `output` against `target` for `loss`.
BatchScores score_batch(const LossConfig& loss, const torch::Tensor& output,
                        const torch::Tensor& target);

/// Evaluates `model` (switched to eval mode, no gradients) on `dataset` in order, `batch_size`
/// samples at a time. For flow losses the event mask of the flow metrics is
/// data::event_pixel_mask of inputs [N, T, 2, H, W] (every pixel for inputs of another shape).
EvalResult evaluate(torch::nn::AnyModule& model, const data::Dataset& dataset,
                    const LossConfig& loss, int64_t batch_size);

}  // namespace lowbit::train
