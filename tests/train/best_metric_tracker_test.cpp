#include "lowbit/train/checkpoint/best_metric_tracker.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>

namespace lowbit::train {
namespace {

TEST(BestCheckpoint, MaxModeKeepsHighest) {
  BestMetricTracker tracker("val_auc", MetricMode::kMax);
  EXPECT_FALSE(tracker.has_best());
  EXPECT_THROW(tracker.best_value(), std::logic_error);
  EXPECT_TRUE(tracker.update(0, {{"val_auc", 0.80}, {"val_loss", 0.5}}));
  EXPECT_FALSE(tracker.update(1, {{"val_auc", 0.79}}));
  EXPECT_TRUE(tracker.update(2, {{"val_auc", 0.85}}));
  EXPECT_FALSE(tracker.update(3, {{"val_auc", 0.85}}));  // a tie is not an improvement
  EXPECT_FALSE(tracker.update(4, {{"val_auc", std::nan("")}}));
  EXPECT_EQ(tracker.best_epoch(), 2);
  EXPECT_DOUBLE_EQ(tracker.best_value(), 0.85);
}

TEST(BestCheckpoint, MinModeAndMinDelta) {
  BestMetricTracker tracker("val_loss", MetricMode::kMin, 0.01);
  EXPECT_TRUE(tracker.update(0, {{"val_loss", 0.50}}));
  EXPECT_FALSE(tracker.update(1, {{"val_loss", 0.495}}));  // within min_delta
  EXPECT_TRUE(tracker.update(2, {{"val_loss", 0.48}}));
  EXPECT_EQ(tracker.best_epoch(), 2);
}

TEST(BestCheckpoint, MissingMetricListsAvailable) {
  BestMetricTracker tracker("val_acc", MetricMode::kMax);
  try {
    tracker.update(0, {{"val_accuracy", 0.9}, {"val_loss", 0.3}});
    FAIL() << "no error";
  } catch (const std::invalid_argument& error) {
    EXPECT_THAT(error.what(), ::testing::HasSubstr("available metrics: val_accuracy, val_loss"));
  }
}

TEST(BestCheckpoint, FromConfigInfersMode) {
  auto tracker =
      BestMetricTracker::from_config(config::ConfigNode::parse("{metric: val_loss}", "b.yaml"));
  EXPECT_EQ(tracker.mode(), MetricMode::kMin);
  EXPECT_EQ(BestMetricTracker::from_config(config::ConfigNode::parse("{}", "b.yaml")).mode(),
            MetricMode::kMax);
  EXPECT_EQ(
      BestMetricTracker::from_config(config::ConfigNode::parse("{metric: f1, mode: max}", "b.yaml"))
          .mode(),
      MetricMode::kMax);
  EXPECT_THROW(BestMetricTracker::from_config(config::ConfigNode::parse("{metric: f1}", "b.yaml")),
               config::ConfigError);
  EXPECT_THROW(BestMetricTracker::from_config(
                   config::ConfigNode::parse("{metric: auc, mode: up}", "b.yaml")),
               config::ConfigError);
}

}  // namespace
}  // namespace lowbit::train
