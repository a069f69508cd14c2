#include "lowbit/train/data_source.h"

#include <gtest/gtest.h>

#include <fstream>

#include "data/zip_writer.h"
#include "lowbit/data/npy.h"
#include "lowbit/data/smartpix.h"
#include "lowbit/util/atomic_file.h"
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

TEST_F(DataSourceTest, NpyArraysWithIntegerTargetsAreClasses) {
  // Column 0 numbers the samples, so the parts can be checked for disjointness.
  const torch::Tensor x =
      torch::stack({torch::arange(60.0, torch::kFloat64), torch::ones({60}, torch::kFloat64)}, 1);
  data::write_npy(path("x.npy"), x);
  data::write_npy(path("y.npy"), (torch::arange(60) % 3).to(torch::kInt32));
  data::write_npy(path("tx.npy"), x.slice(0, 0, 7));
  data::write_npy(path("ty.npy"), torch::full({7}, 4, torch::kInt32));
  const std::string base = "{source: npy, inputs: " + path("x.npy") + ", targets: " + path("y.npy");
  StageData d =
      load_data(ConfigNode::parse(base + ", val_fraction: 0.2, test_fraction: 0.25}", "d.yaml"), 3);
  EXPECT_EQ(d.train.inputs.scalar_type(), torch::kFloat32);
  EXPECT_EQ(d.train.targets.scalar_type(), torch::kInt64);
  EXPECT_EQ(model_outputs(d.train), 3);
  EXPECT_EQ(input_features(d.train), 2);
  EXPECT_EQ(d.test.size(), 15);
  EXPECT_EQ(d.train.size() + d.val.size(), 45);
  auto all = torch::cat({d.train.inputs, d.val.inputs, d.test.inputs}).select(1, 0);
  EXPECT_TRUE(torch::equal(std::get<0>(all.sort()), torch::arange(60).to(torch::kFloat32)));
  // Every sample keeps its own label: label = index % 3.
  EXPECT_TRUE(torch::equal(d.train.targets, d.train.inputs.select(1, 0).to(torch::kInt64) % 3));

  // A separate test split; its class 4 widens the class count of both parts.
  StageData t = load_data(ConfigNode::parse(base + ", test_inputs: " + path("tx.npy") +
                                                ", test_targets: " + path("ty.npy") + "}",
                                            "d.yaml"),
                          3);
  EXPECT_EQ(t.test.size(), 7);
  EXPECT_EQ(t.train.size() + t.val.size(), 60);
  EXPECT_EQ(model_outputs(t.train), 5);
  EXPECT_EQ(t.test.num_classes, 5);
}

TEST_F(DataSourceTest, NpzMembersAndFloatTargets) {
  torch::manual_seed(4);
  const torch::Tensor x = torch::randn({30, 1, 4, 4});
  const torch::Tensor y = torch::rand({30}, torch::kFloat64);
  const std::string zip = data::testing::zip_bytes(
      {{"images.npy", data::npy_bytes(x, "x"), 8}, {"labels.npy", data::npy_bytes(y, "y"), 0}});
  std::ofstream(path("d.npz"), std::ios::binary) << zip;
  StageData d = load_data(
      ConfigNode::parse("{source: npy, inputs: " + path("d.npz") +
                            ":images, targets: " + path("d.npz") + ":labels, stratify: false}",
                        "d.yaml"),
      1);
  EXPECT_EQ(d.train.targets.scalar_type(), torch::kFloat32);
  EXPECT_EQ(model_outputs(d.train), 1);
  EXPECT_EQ(input_features(d.train), 16);
  EXPECT_EQ(d.train.size() + d.val.size() + d.test.size(), 30);
  EXPECT_THROW(load_data(ConfigNode::parse("{source: npy, inputs: " + path("d.npz") +
                                               ":nothing, targets: " + path("d.npz") + ":labels}",
                                           "d.yaml"),
                         1),
               util::FileError);
}

TEST_F(DataSourceTest, BadNpyArraysAreErrors) {
  data::write_npy(path("x.npy"), torch::zeros({10, 2}));
  data::write_npy(path("y9.npy"), torch::zeros({9}, torch::kInt64));
  data::write_npy(path("neg.npy"), torch::full({10}, -1, torch::kInt64));
  data::write_npy(path("y.npy"), torch::zeros({10}, torch::kInt64));
  data::write_npy(path("yf.npy"), torch::zeros({10}));
  const std::string x = "{source: npy, inputs: " + path("x.npy");
  auto load = [](const std::string& yaml) {
    return load_data(ConfigNode::parse(yaml, "d.yaml"), 1);
  };
  EXPECT_THROW(load(x + ", targets: " + path("y9.npy") + "}"), ConfigError);
  EXPECT_THROW(load(x + ", targets: " + path("neg.npy") + "}"), ConfigError);
  EXPECT_THROW(load(x + "}"), ConfigError);
  EXPECT_THROW(load(x + ", targets: " + path("y.npy") + ", test_inputs: " + path("x.npy") + "}"),
               ConfigError);
  EXPECT_THROW(load(x + ", targets: " + path("y.npy") + ", test_inputs: " + path("x.npy") +
                    ", test_targets: " + path("yf.npy") + "}"),
               ConfigError);
  EXPECT_THROW(load(x + ", targets: " + path("missing.npy") + "}"), util::FileError);
}

}  // namespace
}  // namespace lowbit::train

namespace lowbit::train {
namespace {

TEST_F(DataSourceTest, RealSmartpixClustersUseTheGeneratorsFeatureCode) {
  torch::manual_seed(4);
  const int64_t n = 50;
  const torch::Tensor charge = torch::rand({n, 13, 21}) * 3000;
  const torch::Tensor z = torch::randn({n}) * 40;
  const torch::Tensor y = torch::randn({n});
  const torch::Tensor labels = (torch::arange(n) % 2).to(torch::kFloat32);
  data::write_npy(path("charge.npy"), charge);
  data::write_npy(path("z.npy"), z);
  data::write_npy(path("y.npy"), y);
  data::write_npy(path("labels.npy"), labels);
  const std::string base = "{source: smartpix_clusters, charge: " + path("charge.npy") +
                           ", z_global: " + path("z.npy") + ", y_local: " + path("y.npy");
  StageData d = load_data(ConfigNode::parse(base + ", labels: " + path("labels.npy") +
                                                ", val_fraction: 0, test_fraction: 0, "
                                                "stratify: false}",
                                            "d.yaml"),
                          1);
  ASSERT_EQ(d.train.size(), n);
  EXPECT_EQ(input_features(d.train), data::kSmartpixFeatures);
  // Same rows as the feature function gives for those clusters, in the loaded order.
  const torch::Tensor expected = data::smartpix_features(charge, z, y);
  for (int64_t i = 0; i < n; ++i) {
    const torch::Tensor row = d.train.inputs[i];
    const torch::Tensor match = (expected == row).all(1).nonzero();
    ASSERT_EQ(match.size(0), 1) << "row " << i;
    EXPECT_EQ(d.train.targets[i].item<float>(), labels[match[0][0].item<int64_t>()].item<float>());
  }
  data::write_npy(path("short.npy"), torch::zeros({n - 1}));
  try {
    load_data(ConfigNode::parse(base + ", labels: " + path("short.npy") + "}", "d.yaml"), 1);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("labels"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace lowbit::train
