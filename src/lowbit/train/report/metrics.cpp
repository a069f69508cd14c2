#include "lowbit/train/report/metrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

namespace lowbit::train {
namespace {

std::vector<double> to_doubles(const torch::Tensor& tensor) {
  torch::Tensor flat = tensor.detach().to(torch::kCPU, torch::kDouble).contiguous().reshape(-1);
  return std::vector<double>(flat.data_ptr<double>(), flat.data_ptr<double>() + flat.numel());
}

std::vector<int64_t> to_int64s(const torch::Tensor& tensor) {
  torch::Tensor flat = tensor.detach().to(torch::kCPU, torch::kLong).contiguous().reshape(-1);
  return std::vector<int64_t>(flat.data_ptr<int64_t>(), flat.data_ptr<int64_t>() + flat.numel());
}

void check_same_count(const torch::Tensor& a, const torch::Tensor& b, const char* what) {
  if (a.numel() != b.numel()) {
    throw std::invalid_argument(std::string(what) + ": " + std::to_string(a.numel()) +
                                " predictions but " + std::to_string(b.numel()) + " labels");
  }
}

}  // namespace

AccuracyCount& AccuracyCount::operator+=(const AccuracyCount& other) {
  correct += other.correct;
  total += other.total;
  return *this;
}

double AccuracyCount::ratio() const {
  if (total == 0) throw std::logic_error("AccuracyCount::ratio: no predictions counted");
  return static_cast<double>(correct) / static_cast<double>(total);
}

AccuracyCount multiclass_accuracy(const torch::Tensor& logits, const torch::Tensor& labels) {
  if (logits.dim() != 2 || labels.dim() != 1 || logits.size(0) != labels.size(0)) {
    throw std::invalid_argument("multiclass_accuracy: expected logits [N, C] and labels [N]");
  }
  const torch::Tensor predicted = logits.detach().argmax(1);
  const int64_t correct =
      predicted.eq(labels.to(predicted.device(), torch::kLong)).sum().item<int64_t>();
  return {correct, labels.size(0)};
}

AccuracyCount binary_accuracy(const torch::Tensor& probabilities, const torch::Tensor& labels,
                              double threshold) {
  check_same_count(probabilities, labels, "binary_accuracy");
  const torch::Tensor predicted = probabilities.detach().reshape(-1).gt(threshold);
  const torch::Tensor truth = labels.detach().reshape(-1).to(predicted.device()).ne(0);
  return {predicted.eq(truth).sum().item<int64_t>(), labels.numel()};
}

double roc_auc(const torch::Tensor& scores, const torch::Tensor& labels) {
  check_same_count(scores, labels, "roc_auc");
  const std::vector<double> score = to_doubles(scores);
  const std::vector<double> label = to_doubles(labels);
  int64_t positives = 0;
  for (double value : label) {
    if (value != 0.0 && value != 1.0) {
      throw std::invalid_argument("roc_auc: labels must be 0 or 1, got " + std::to_string(value));
    }
    positives += value == 1.0;
  }
  const int64_t negatives = static_cast<int64_t>(label.size()) - positives;
  if (positives == 0 || negatives == 0) {
    throw std::invalid_argument("roc_auc: undefined with " + std::to_string(positives) +
                                " positives and " + std::to_string(negatives) + " negatives");
  }
  for (double value : score) {
    if (std::isnan(value)) throw std::invalid_argument("roc_auc: a score is NaN");
  }
  std::vector<size_t> order(score.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return score[a] < score[b]; });
  // Twice the rank sum of the positives, in integers: a tie group at sorted positions [i, j) has
  // average 1-based rank (i + 1 + j) / 2, so twice it is the integer i + 1 + j.
  int64_t twice_rank_sum = 0;
  for (size_t i = 0; i < order.size();) {
    size_t j = i + 1;
    while (j < order.size() && score[order[j]] == score[order[i]]) ++j;
    for (size_t k = i; k < j; ++k) {
      if (label[order[k]] == 1.0) twice_rank_sum += static_cast<int64_t>(i + 1 + j);
    }
    i = j;
  }
  const int64_t twice_u = twice_rank_sum - positives * (positives + 1);
  return static_cast<double>(twice_u) /
         (2.0 * static_cast<double>(positives) * static_cast<double>(negatives));
}

torch::Tensor confusion_matrix(const torch::Tensor& predicted, const torch::Tensor& labels,
                               int64_t num_classes) {
  check_same_count(predicted, labels, "confusion_matrix");
  if (num_classes < 1) throw std::invalid_argument("confusion_matrix: num_classes must be >= 1");
  const std::vector<int64_t> guess = to_int64s(predicted);
  const std::vector<int64_t> truth = to_int64s(labels);
  torch::Tensor matrix = torch::zeros({num_classes, num_classes}, torch::kLong);
  auto cells = matrix.accessor<int64_t, 2>();
  for (size_t i = 0; i < truth.size(); ++i) {
    if (truth[i] < 0 || truth[i] >= num_classes || guess[i] < 0 || guess[i] >= num_classes) {
      throw std::invalid_argument("confusion_matrix: sample " + std::to_string(i) + " has class " +
                                  std::to_string(truth[i]) + " predicted as " +
                                  std::to_string(guess[i]) + ", outside 0.." +
                                  std::to_string(num_classes - 1));
    }
    ++cells[truth[i]][guess[i]];
  }
  return matrix;
}

void RunningMean::add(double value, double weight) {
  if (!(weight > 0.0)) {
    throw std::invalid_argument("RunningMean::add: weight must be > 0, got " +
                                std::to_string(weight));
  }
  sum_ += value * weight;
  weight_ += weight;
}

double RunningMean::mean() const {
  if (weight_ == 0.0) throw std::logic_error("RunningMean::mean: nothing was added");
  return sum_ / weight_;
}

void RunningMean::reset() {
  sum_ = 0.0;
  weight_ = 0.0;
}

}  // namespace lowbit::train
