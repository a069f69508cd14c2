#include "lowbit/train/data_source.h"

#include <gtest/gtest.h>

#include <fstream>

#include "train/train_fixtures.h"

namespace lowbit::train {
namespace {

class DataSourceTest : public testing::TempDirTest {};

TEST_F(DataSourceTest, CsvSplitsIntoTrainValAndTest) {
  std::ofstream csv(path("d.csv"));
  csv << "a,b,label\n";
  for (int i = 0; i < 100; ++i) csv << i << "," << -i << "," << i % 2 << "\n";
  csv.close();
  const std::string yaml = "{source: csv, train: " + path("d.csv") +
                           ", label_column: label, val_fraction: 0.2, test_fraction: 0.1}";
  StageData d = load_data(ConfigNode::parse(yaml, "data.yaml"), 5);
  EXPECT_EQ(d.test.size(), 10);
  EXPECT_EQ(d.val.size(), 18);
  EXPECT_EQ(d.train.size(), 72);
  EXPECT_EQ(input_features(d.train), 2);
  EXPECT_EQ(model_outputs(d.train), 2);
  // The three parts are disjoint: every first-column value appears once.
  auto all = torch::cat({d.train.inputs, d.val.inputs, d.test.inputs}).select(1, 0);
  EXPECT_TRUE(torch::equal(std::get<0>(all.sort()), torch::arange(100).to(torch::kFloat32)));

  StageData limited =
      load_data(ConfigNode::parse("{source: csv, train: " + path("d.csv") +
                                      ", label_column: label, limit: 30, stratify: false}",
                                  "data.yaml"),
                5);
  EXPECT_EQ(limited.train.size() + limited.val.size(), 30);
}

TEST_F(DataSourceTest, UnknownSourceAndKeysAreErrors) {
  EXPECT_THROW(load_data(ConfigNode::parse("{source: tfrecord}", "d.yaml"), 1), ConfigError);
  EXPECT_THROW(
      load_data(ConfigNode::parse("{source: smartpix, count: 8, colour: red}", "d.yaml"), 1),
      ConfigError);
}

TEST_F(DataSourceTest, SmartpixIsBinary) {
  StageData d = load_data(ConfigNode::parse("{source: smartpix, count: 40}", "d.yaml"), 2);
  EXPECT_EQ(input_features(d.train), 36);
  EXPECT_EQ(model_outputs(d.train), 1);
  EXPECT_EQ(d.train.size() + d.val.size() + d.test.size(), 40);
}

}  // namespace
}  // namespace lowbit::train
