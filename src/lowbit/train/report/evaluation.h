// Evaluation of a model on a whole data set: mean loss, accuracy and (for binary tasks) ROC AUC,
// computed from the model's outputs the way the stage's loss reads them.
#pragma once

#include <torch/nn/modules/container/any.h>
#include <torch/types.h>

#include <cstdint>
#include <map>
#include <string>

#include "lowbit/data/dataset.h"
#include "lowbit/train/loss.h"

namespace lowbit::train {

/// Loss, accuracy and AUC of one evaluation; NaN where undefined (accuracy for MSE without
/// 0/1 targets, AUC for non-binary tasks or when one class is absent).
struct EvalResult {
  double loss = 0.0;      ///< Mean loss.
  double accuracy = 0.0;  ///< Fraction of correct predictions.
  double auc = 0.0;       ///< ROC AUC of the positive class (binary tasks).
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
/// samples at a time.
EvalResult evaluate(torch::nn::AnyModule& model, const data::Dataset& dataset,
                    const LossConfig& loss, int64_t batch_size);

}  // namespace lowbit::train
