#include "lowbit/train/data_source.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>

#include "data/test_files.h"
#include "data/zip_writer.h"
#include "lowbit/data/events/event_flow.h"
#include "lowbit/data/files/npy.h"
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
  StageData d = load_data(config::ConfigNode::parse(yaml, "data.yaml"), 5);
  EXPECT_EQ(d.test.size(), 10);
  EXPECT_EQ(d.val.size(), 18);
  EXPECT_EQ(d.train.size(), 72);
  EXPECT_EQ(input_features(d.train), 2);
  EXPECT_EQ(model_outputs(d.train), 2);
  // The three parts are disjoint: every first-column value appears once.
  auto all = torch::cat({d.train.inputs, d.val.inputs, d.test.inputs}).select(1, 0);
  EXPECT_TRUE(torch::equal(std::get<0>(all.sort()), torch::arange(100).to(torch::kFloat32)));

  StageData limited =
      load_data(config::ConfigNode::parse("{source: csv, train: " + path("d.csv") +
                                              ", label_column: label, limit: 30, stratify: false}",
                                          "data.yaml"),
                5);
  EXPECT_EQ(limited.train.size() + limited.val.size(), 30);
}

TEST_F(DataSourceTest, UnknownSourceAndKeysAreErrors) {
  EXPECT_THROW(load_data(config::ConfigNode::parse("{source: tfrecord}", "d.yaml"), 1),
               config::ConfigError);
  EXPECT_THROW(
      load_data(config::ConfigNode::parse("{source: smartpix, count: 8, colour: red}", "d.yaml"),
                1),
      config::ConfigError);
}

TEST_F(DataSourceTest, SmartpixIsBinary) {
  StageData d = load_data(config::ConfigNode::parse("{source: smartpix, count: 40}", "d.yaml"), 2);
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
  StageData d = load_data(
      config::ConfigNode::parse(base + ", val_fraction: 0.2, test_fraction: 0.25}", "d.yaml"), 3);
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
  StageData t = load_data(config::ConfigNode::parse(base + ", test_inputs: " + path("tx.npy") +
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
  StageData d = load_data(config::ConfigNode::parse("{source: npy, inputs: " + path("d.npz") +
                                                        ":images, targets: " + path("d.npz") +
                                                        ":labels, stratify: false}",
                                                    "d.yaml"),
                          1);
  EXPECT_EQ(d.train.targets.scalar_type(), torch::kFloat32);
  EXPECT_EQ(model_outputs(d.train), 1);
  EXPECT_EQ(input_features(d.train), 16);
  EXPECT_EQ(d.train.size() + d.val.size() + d.test.size(), 30);
  EXPECT_THROW(
      load_data(config::ConfigNode::parse("{source: npy, inputs: " + path("d.npz") +
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
    return load_data(config::ConfigNode::parse(yaml, "d.yaml"), 1);
  };
  EXPECT_THROW(load(x + ", targets: " + path("y9.npy") + "}"), config::ConfigError);
  EXPECT_THROW(load(x + ", targets: " + path("neg.npy") + "}"), util::FileError);
  EXPECT_THROW(load(x + "}"), config::ConfigError);
  EXPECT_THROW(load(x + ", targets: " + path("y.npy") + ", test_inputs: " + path("x.npy") + "}"),
               config::ConfigError);
  EXPECT_THROW(load(x + ", targets: " + path("y.npy") + ", test_inputs: " + path("x.npy") +
                    ", test_targets: " + path("yf.npy") + "}"),
               config::ConfigError);
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
  StageData d = load_data(config::ConfigNode::parse(base + ", labels: " + path("labels.npy") +
                                                        ", val_fraction: 0.1, test_fraction: 0, "
                                                        "stratify: false}",
                                                    "d.yaml"),
                          1);
  ASSERT_EQ(d.train.size() + d.val.size(), n);
  EXPECT_EQ(d.test.size(), 0);
  EXPECT_EQ(input_features(d.train), data::kSmartpixFeatures);
  // Same rows as the feature function gives for those clusters, in the loaded order.
  const torch::Tensor expected = data::smartpix_features(charge, z, y);
  const torch::Tensor inputs = torch::cat({d.train.inputs, d.val.inputs});
  const torch::Tensor targets = torch::cat({d.train.targets, d.val.targets});
  for (int64_t i = 0; i < n; ++i) {
    const torch::Tensor match = (expected == inputs[i]).all(1).nonzero();
    ASSERT_EQ(match.size(0), 1) << "row " << i;
    EXPECT_EQ(targets[i].item<float>(), labels[match[0][0].item<int64_t>()].item<float>());
  }
  data::write_npy(path("short.npy"), torch::zeros({n - 1}));
  try {
    load_data(config::ConfigNode::parse(base + ", labels: " + path("short.npy") + "}", "d.yaml"),
              1);
    FAIL() << "expected config::ConfigError";
  } catch (const config::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("labels"), std::string::npos) << e.what();
  }
}

using data::testing::file_error_of;

TEST_F(DataSourceTest, SmartpixClustersWithInfinityNameTheFile) {
  torch::Tensor charge = torch::ones({20, 13, 21});
  charge[7][3][4] = std::numeric_limits<float>::infinity();
  data::write_npy(path("charge.npy"), charge);
  data::write_npy(path("z.npy"), torch::zeros({20}));
  torch::Tensor y = torch::zeros({20}, torch::kFloat64);
  y[5] = 1e300;  // finite as float64, infinite as float32
  data::write_npy(path("y.npy"), y);
  data::write_npy(path("yok.npy"), torch::zeros({20}));
  data::write_npy(path("labels.npy"), (torch::arange(20) % 2).to(torch::kFloat32));
  data::write_npy(path("good.npy"), torch::ones({20, 13, 21}));
  auto yaml = [&](const std::string& charge_file, const std::string& y_file) {
    return "{source: smartpix_clusters, charge: " + path(charge_file) +
           ", z_global: " + path("z.npy") + ", y_local: " + path(y_file) +
           ", labels: " + path("labels.npy") + "}";
  };
  std::string msg = file_error_of(
      [&] { load_data(config::ConfigNode::parse(yaml("charge.npy", "yok.npy"), "d.yaml"), 1); });
  EXPECT_NE(msg.find(path("charge.npy") + ": charges (as float32) hold infinity at sample 7"),
            std::string::npos)
      << msg;
  msg = file_error_of(
      [&] { load_data(config::ConfigNode::parse(yaml("good.npy", "y.npy"), "d.yaml"), 1); });
  EXPECT_NE(msg.find(path("y.npy") + ": y_local values (as float32) hold infinity at element 5"),
            std::string::npos)
      << msg;
}

TEST_F(DataSourceTest, NpyInputsWithNanOrNoSamplesAndHugeClassIdsAreRefused) {
  torch::Tensor x = torch::ones({10, 4});
  x[6][2] = std::nanf("");
  data::write_npy(path("nan.npy"), x);
  data::write_npy(path("x.npy"), torch::ones({10, 4}));
  data::write_npy(path("empty.npy"), torch::zeros({0, 16}));
  data::write_npy(path("empty_y.npy"), torch::zeros({0}, torch::kInt64));
  data::write_npy(path("y.npy"), torch::zeros({10}, torch::kInt64));
  torch::Tensor big = torch::zeros({10}, torch::kInt64);
  big[4] = int64_t{1000000000000};
  data::write_npy(path("big.npy"), big);
  torch::Tensor nan_y = torch::zeros({10});
  nan_y[1] = std::nanf("");
  data::write_npy(path("nan_y.npy"), nan_y);
  auto load = [&](const std::string& inputs, const std::string& targets) {
    return file_error_of([&] {
      load_data(config::ConfigNode::parse(
                    "{source: npy, inputs: " + path(inputs) + ", targets: " + path(targets) + "}",
                    "d.yaml"),
                1);
    });
  };
  std::string msg = load("nan.npy", "y.npy");
  EXPECT_NE(msg.find(path("nan.npy") + ": inputs (as float32) hold NaN at sample 6, element 2"),
            std::string::npos)
      << msg;
  msg = load("empty.npy", "empty_y.npy");
  EXPECT_NE(msg.find(path("empty.npy") + ": no data: shape [0, 16]"), std::string::npos) << msg;
  msg = load("x.npy", "big.npy");
  EXPECT_NE(msg.find(path("big.npy") + ": class id 1000000000000 at sample 4"), std::string::npos)
      << msg;
  msg = load("x.npy", "nan_y.npy");
  EXPECT_NE(msg.find(path("nan_y.npy") + ": targets (as float32) hold NaN at element 1"),
            std::string::npos)
      << msg;
}

TEST_F(DataSourceTest, TooFewSamplesForASplitAreAnErrorNamingTheFileAndSplit) {
  std::ofstream(path("tiny.csv")) << "a,label\n1,0\n2,1\n3,0\n4,1\n";
  auto load = [&](const std::string& fractions) {
    return file_error_of([&] {
      load_data(
          config::ConfigNode::parse("{source: csv, train: " + path("tiny.csv") +
                                        ", label_column: label, stratify: false" + fractions + "}",
                                    "d.yaml"),
          1);
    });
  };
  // 4 samples: 20 % test rounds to 1, then 10 % of 3 rounds to 0 for validation.
  std::string msg = load("");
  EXPECT_NE(msg.find(path("tiny.csv")), std::string::npos) << msg;
  EXPECT_NE(msg.find("validation split is empty"), std::string::npos) << msg;
  msg = load(", val_fraction: 0.5, test_fraction: 0.1");
  EXPECT_NE(msg.find("test split is empty"), std::string::npos) << msg;
  // An explicit test_fraction of 0 tests on the validation split, as documented.
  const StageData d = load_data(
      config::ConfigNode::parse("{source: csv, train: " + path("tiny.csv") +
                                    ", label_column: label, val_fraction: 0.5, test_fraction: 0}",
                                "d.yaml"),
      1);
  EXPECT_EQ(d.val.size(), 2);
  EXPECT_EQ(d.test.size(), 0);
}

TEST_F(DataSourceTest, TrainAndTestSampleShapesAreComparedWhenLoading) {
  std::ofstream(path("train.csv")) << "a,b,label\n1,2,0\n2,3,1\n3,4,0\n4,5,1\n5,6,0\n6,7,1\n";
  std::ofstream(path("test.csv")) << "a,label\n1,0\n2,1\n";
  const std::string msg = file_error_of([&] {
    load_data(config::ConfigNode::parse("{source: csv, train: " + path("train.csv") +
                                            ", test: " + path("test.csv") +
                                            ", label_column: label, val_fraction: 0.4}",
                                        "d.yaml"),
              1);
  });
  EXPECT_NE(msg.find(path("train.csv")), std::string::npos) << msg;
  EXPECT_NE(msg.find(path("test.csv")), std::string::npos) << msg;
  EXPECT_NE(msg.find("[6, 2]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[2, 1]"), std::string::npos) << msg;
}

TEST_F(DataSourceTest, ALossThatDoesNotSuitTheTargetsNamesTheDataAndTheLoss) {
  data::Dataset floats;
  floats.inputs = torch::zeros({4, 2});
  floats.targets = torch::tensor({0.0f, 1.0f, 1.0f, 0.0f});
  floats.name = "clusters.npy";
  LossConfig loss;
  loss.type = LossType::kCrossEntropy;
  try {
    check_targets_for_loss(floats, loss, "w4");
    FAIL() << "no error";
  } catch (const config::ConfigError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("stage 'w4'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("cross_entropy"), std::string::npos) << msg;
    EXPECT_NE(msg.find("clusters.npy"), std::string::npos) << msg;
  }
  data::Dataset classes = floats;
  classes.targets = torch::tensor({0, 1, 1, 0}, torch::kInt64);
  classes.num_classes = 2;
  check_targets_for_loss(classes, loss, "w4");
  loss.type = LossType::kBinaryCrossEntropyWithLogits;
  check_targets_for_loss(floats, loss, "w4");
  EXPECT_THROW(check_targets_for_loss(classes, loss, "w4"), config::ConfigError);
}

TEST_F(DataSourceTest, EventsSyntheticGivesFlowSetsWithTheirOwnTestSplit) {
  const std::string yaml =
      "{source: events_synthetic, size: [16, 24], time_steps: 3, train_samples: 10, "
      "test_samples: 4, max_speed: 3, val_fraction: 0.2}";
  StageData d = load_data(config::ConfigNode::parse(yaml, "d.yaml"), 7);
  EXPECT_EQ(d.train.size(), 8);
  EXPECT_EQ(d.val.size(), 2);
  EXPECT_EQ(d.test.size(), 4);
  EXPECT_EQ(d.train.inputs.sizes(), (std::vector<int64_t>{8, 3, 2, 16, 24}));
  EXPECT_EQ(d.test.targets.sizes(), (std::vector<int64_t>{4, 3, 16, 24}));
  EXPECT_TRUE(has_flow_targets(d.train));
  EXPECT_EQ(model_outputs(d.train), 2);
  EXPECT_EQ(input_features(d.train), 3 * 2 * 16 * 24);
  // The run's seed fixes the samples; the test split does not depend on train_samples.
  StageData again = load_data(config::ConfigNode::parse(yaml, "d.yaml"), 7);
  EXPECT_TRUE(torch::equal(again.train.inputs, d.train.inputs));
  const std::string more =
      "{source: events_synthetic, size: [16, 24], time_steps: 3, train_samples: 12, "
      "test_samples: 4, max_speed: 3}";
  EXPECT_TRUE(torch::equal(load_data(config::ConfigNode::parse(more, "d.yaml"), 7).test.targets,
                           d.test.targets));
  // Keys of the generator are checked by name; image preprocessing does not apply.
  EXPECT_THROW(
      load_data(config::ConfigNode::parse("{source: events_synthetic, colour: red}", "d.yaml"), 1),
      config::ConfigError);
  EXPECT_THROW(load_data(config::ConfigNode::parse(
                             "{source: events_synthetic, size: [16, 16], train_samples: 8, "
                             "test_samples: 2, max_speed: 2, normalize: true}",
                             "d.yaml"),
                         1),
               config::ConfigError);
}

TEST_F(DataSourceTest, EventsFileIsSplitLikeOtherFiles) {
  // An NPZ recording of a 4 x 6 sensor with 10 flow windows.
  std::vector<int64_t> x, y, p;
  std::vector<double> t;
  for (int i = 0; i < 200; ++i) {
    x.push_back(i % 6);
    y.push_back(i % 4);
    t.push_back(0.005 * i);
    p.push_back(i % 2 == 0 ? 1 : -1);
  }
  std::vector<double> windows;
  for (int i = 0; i < 10; ++i) {
    windows.push_back(0.1 * i);
    windows.push_back(0.1 * (i + 1));
  }
  const torch::Tensor flow = torch::ones({10, 2, 4, 6});
  std::vector<data::testing::Member> members;
  for (const auto& [name, array] : std::vector<std::pair<std::string, torch::Tensor>>{
           {"x", torch::tensor(x)},
           {"y", torch::tensor(y)},
           {"t", torch::tensor(t, torch::kFloat64)},
           {"p", torch::tensor(p)},
           {"flow", flow},
           {"windows", torch::tensor(windows).reshape({10, 2})}}) {
    members.push_back({name + ".npy", data::npy_bytes(array, name)});
  }
  data::testing::write_bytes(path("rec.npz"), data::testing::zip_bytes(members));
  StageData d = load_data(
      config::ConfigNode::parse("{source: events_file, format: npz, events: " + path("rec.npz") +
                                    ", time_steps: 2, val_fraction: 0.2, test_fraction: 0.2}",
                                "d.yaml"),
      3);
  EXPECT_EQ(d.train.size() + d.val.size() + d.test.size(), 10);
  EXPECT_EQ(d.test.size(), 2);
  EXPECT_EQ(d.train.inputs.sizes().slice(1), (std::vector<int64_t>{2, 2, 4, 6}));
  EXPECT_TRUE(has_flow_targets(d.train));
  EXPECT_EQ(model_outputs(d.train), 2);
  // A missing recording is named.
  const std::string msg = file_error_of([&] {
    load_data(config::ConfigNode::parse(
                  "{source: events_file, format: npz, events: " + path("none.npz") + "}", "d.yaml"),
              1);
  });
  EXPECT_NE(msg.find(path("none.npz")), std::string::npos) << msg;
}

TEST_F(DataSourceTest, AFolderAsAnNpzArchiveIsNamed) {
  std::filesystem::create_directories(path("archive.npz"));
  const std::string msg = file_error_of([&] {
    load_data(config::ConfigNode::parse("{source: npy, inputs: " + path("archive.npz") +
                                            ":x, targets: " + path("archive.npz") + ":y}",
                                        "d.yaml"),
              1);
  });
  EXPECT_NE(msg.find(path("archive.npz") + ": is a folder"), std::string::npos) << msg;
}

}  // namespace
}  // namespace lowbit::train
