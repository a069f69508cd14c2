// Evaluation metrics over model outputs: accuracy counts, exact binary ROC AUC, the confusion
// matrix, and a running mean for losses accumulated over batches.
#pragma once

#include <cstdint>

#include <torch/types.h>

namespace lowbit::train {

/// Correct predictions out of a total; accumulate over batches, divide once at the end.
struct AccuracyCount {
  /// Number of correct predictions.
  int64_t correct = 0;
  /// Number of predictions.
  int64_t total = 0;
  /// Adds another count.
  AccuracyCount& operator+=(const AccuracyCount& other);
  /// correct / total; throws std::logic_error if total is 0.
  double ratio() const;
};

/// Counts rows of `logits` [N, C] whose arg-max equals `labels` [N] (int64 class indices).
AccuracyCount multiclass_accuracy(const torch::Tensor& logits, const torch::Tensor& labels);

/// Counts samples whose prediction (probability > threshold, as Keras binary_accuracy) equals the
/// 0/1 label; `probabilities` is [N] or [N, 1], `labels` has N elements.
AccuracyCount binary_accuracy(const torch::Tensor& probabilities, const torch::Tensor& labels,
                              double threshold = 0.5);

/// The exact area under the ROC curve of `scores` for 0/1 `labels` (N elements each), computed as
/// the Mann-Whitney U statistic with average ranks for ties: the probability that a random
/// positive scores above a random negative, ties counting one half. Throws std::invalid_argument
/// if a label is not 0 or 1 or one class is absent (the AUC is undefined then).
double roc_auc(const torch::Tensor& scores, const torch::Tensor& labels);

/// The [num_classes, num_classes] int64 matrix whose entry (t, p) counts samples of true class t
/// predicted as p. `predicted` and `labels` hold class indices; throws on an index out of range.
torch::Tensor confusion_matrix(const torch::Tensor& predicted, const torch::Tensor& labels,
                               int64_t num_classes);

/// The weighted mean of values added one batch at a time.
class RunningMean {
 public:
  /// Adds `value` with weight `weight` (e.g. a batch's mean loss and its batch size); weight > 0.
  void add(double value, double weight = 1.0);
  /// The weighted mean so far; throws std::logic_error if nothing was added.
  double mean() const;
  /// The total weight added.
  double weight() const { return weight_; }
  /// Forgets everything added.
  void reset();

 private:
  double sum_ = 0.0;
  double weight_ = 0.0;
};

}  // namespace lowbit::train
