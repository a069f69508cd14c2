#include "lowbit/train/report/metrics.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace lowbit::train {
namespace {

// The AUC by definition: over all (positive, negative) pairs, 1 if the positive scores higher,
// 1/2 on a tie. Returned as twice the count so it stays an integer.
int64_t twice_pair_count(const std::vector<double>& scores, const std::vector<int>& labels) {
  int64_t count = 0;
  for (size_t i = 0; i < scores.size(); ++i) {
    if (labels[i] != 1) continue;
    for (size_t j = 0; j < scores.size(); ++j) {
      if (labels[j] != 0) continue;
      count += scores[i] > scores[j] ? 2 : (scores[i] == scores[j] ? 1 : 0);
    }
  }
  return count;
}

TEST(Metrics, MulticlassAccuracyCountsArgmax) {
  torch::Tensor logits =
      torch::tensor({{0.1f, 0.7f, 0.2f}, {2.0f, 1.0f, 0.0f}, {0.0f, 0.0f, 5.0f}});
  AccuracyCount count = multiclass_accuracy(logits, torch::tensor({1, 1, 2}, torch::kLong));
  EXPECT_EQ(count.correct, 2);
  EXPECT_EQ(count.total, 3);
  count += AccuracyCount{1, 1};
  EXPECT_EQ(count.correct, 3);
  EXPECT_DOUBLE_EQ(count.ratio(), 0.75);
  EXPECT_THROW(AccuracyCount{}.ratio(), std::logic_error);
}

TEST(Metrics, BinaryAccuracyUsesStrictThreshold) {
  torch::Tensor p = torch::tensor({{0.9f}, {0.5f}, {0.51f}, {0.1f}});
  AccuracyCount count = binary_accuracy(p, torch::tensor({1.0f, 1.0f, 0.0f, 0.0f}));
  EXPECT_EQ(count.correct, 2);  // 0.5 is not > 0.5; 0.51 is wrongly positive
  EXPECT_EQ(count.total, 4);
  EXPECT_EQ(binary_accuracy(p, torch::tensor({1, 1, 0, 0}), 0.3).correct, 3);
}

TEST(Metrics, RocAucSmallCases) {
  EXPECT_DOUBLE_EQ(roc_auc(torch::tensor({0.1, 0.4, 0.35, 0.8}), torch::tensor({0, 0, 1, 1})),
                   0.75);
  EXPECT_DOUBLE_EQ(roc_auc(torch::tensor({0.9, 0.8, 0.1}), torch::tensor({1, 1, 0})), 1.0);
  EXPECT_DOUBLE_EQ(roc_auc(torch::tensor({0.9, 0.8, 0.1}), torch::tensor({0, 0, 1})), 0.0);
  EXPECT_DOUBLE_EQ(roc_auc(torch::tensor({0.5, 0.5, 0.5, 0.5}), torch::tensor({0, 1, 0, 1})), 0.5);
  EXPECT_THROW(roc_auc(torch::tensor({0.5, 0.6}), torch::tensor({1, 1})), std::invalid_argument);
  EXPECT_THROW(roc_auc(torch::tensor({0.5, 0.6}), torch::tensor({1, 2})), std::invalid_argument);
}

TEST(Metrics, RocAucMatchesBruteForceWithTies) {
  torch::manual_seed(3);
  for (int trial = 0; trial < 20; ++trial) {
    const int64_t n = 5 + trial * 7;
    // Few distinct scores, so ties are frequent; labels correlate with the score.
    torch::Tensor scores = torch::randint(0, 6, {n}, torch::kDouble) / 5.0;
    torch::Tensor labels = (scores + torch::rand({n}, torch::kDouble) > 0.8).to(torch::kLong);
    labels[0] = 0;
    labels[1] = 1;
    std::vector<double> s(scores.data_ptr<double>(), scores.data_ptr<double>() + n);
    std::vector<int> l;
    int64_t positives = 0;
    for (int64_t i = 0; i < n; ++i) {
      l.push_back(static_cast<int>(labels[i].item<int64_t>()));
      positives += l.back();
    }
    const double expected = static_cast<double>(twice_pair_count(s, l)) /
                            (2.0 * static_cast<double>(positives * (n - positives)));
    EXPECT_DOUBLE_EQ(roc_auc(scores, labels), expected) << "trial " << trial;
  }
}

TEST(Metrics, ConfusionMatrix) {
  torch::Tensor predicted = torch::tensor({0, 1, 1, 2, 2, 2, 0}, torch::kLong);
  torch::Tensor labels = torch::tensor({0, 1, 2, 2, 2, 0, 1}, torch::kLong);
  torch::Tensor matrix = confusion_matrix(predicted, labels, 3);
  torch::Tensor expected = torch::tensor({{1, 0, 1}, {1, 1, 0}, {0, 1, 2}}, torch::kLong);
  EXPECT_TRUE(torch::equal(matrix, expected)) << matrix;
  EXPECT_EQ(matrix.sum().item<int64_t>(), 7);
  EXPECT_THROW(confusion_matrix(predicted, labels, 2), std::invalid_argument);
}

TEST(Metrics, RunningMeanIsWeighted) {
  RunningMean mean;
  EXPECT_THROW(mean.mean(), std::logic_error);
  mean.add(1.0, 3);
  mean.add(3.0, 1);
  EXPECT_DOUBLE_EQ(mean.mean(), 1.5);
  EXPECT_DOUBLE_EQ(mean.weight(), 4.0);
  EXPECT_THROW(mean.add(1.0, 0.0), std::invalid_argument);
  mean.reset();
  mean.add(-2.0);
  EXPECT_DOUBLE_EQ(mean.mean(), -2.0);
}

}  // namespace
}  // namespace lowbit::train
