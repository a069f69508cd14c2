#include "lowbit/data/events/event_source.h"

#include <gtest/gtest.h>

#include <string>

namespace lowbit::data {
namespace {

using config::ConfigError;
using config::ConfigNode;

// The message of the ConfigError `read` throws; fails the test when it throws nothing.
template <class F>
std::string config_error(F&& read) {
  try {
    read();
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a ConfigError";
  return "";
}

TEST(EventSource, ReadsEveryKey) {
  const ConfigNode node = ConfigNode::parse(R"(
source: events_synthetic
size: [32, 48]
time_steps: 6
representation: counts
train_samples: 20
test_samples: 7
contrast_threshold: 0.15
refractory: 0.01
noise_rate: 0.05
min_speed: 1
max_speed: 6
motions: [translation, zoom]
substeps: 30
blob_density: 0.5
gratings: 3
scene_contrast: 2.5
seed: 9
)",
                                            "flow.yaml");
  const EventSynthSource s = read_event_synth_source(node, 1);
  node.require<std::string>("source");
  node.done();  // every key was read
  EXPECT_EQ(s.options.height, 32);
  EXPECT_EQ(s.options.width, 48);
  EXPECT_EQ(s.time_steps, 6);
  EXPECT_EQ(s.representation, EventRepresentation::kCounts);
  EXPECT_EQ(s.train_samples, 20);
  EXPECT_EQ(s.test_samples, 7);
  EXPECT_DOUBLE_EQ(s.options.contrast_threshold, 0.15);
  EXPECT_DOUBLE_EQ(s.options.refractory, 0.01);
  EXPECT_DOUBLE_EQ(s.options.noise_rate, 0.05);
  EXPECT_DOUBLE_EQ(s.options.min_speed, 1.0);
  EXPECT_DOUBLE_EQ(s.options.max_speed, 6.0);
  EXPECT_EQ(s.options.motions,
            (std::vector<MotionKind>{MotionKind::kTranslation, MotionKind::kZoom}));
  EXPECT_EQ(s.options.substeps, 30);
  EXPECT_DOUBLE_EQ(s.options.blob_density, 0.5);
  EXPECT_EQ(s.options.gratings, 3);
  EXPECT_DOUBLE_EQ(s.options.scene_contrast, 2.5);
  EXPECT_EQ(s.options.seed, 9u);
  const ConfigNode defaults = ConfigNode::parse("source: events_synthetic\n", "d.yaml");
  EXPECT_EQ(read_event_synth_source(defaults, 5).options.seed, 5u);  // the run's seed
}

TEST(EventSource, BadValuesNameTheKey) {
  const auto read = [](const std::string& text) {
    return config_error([&] { read_event_synth_source(ConfigNode::parse(text, "f.yaml"), 1); });
  };
  std::string e = read("motions: [translation, spin]\n");
  EXPECT_NE(e.find("motions"), std::string::npos) << e;
  EXPECT_NE(e.find("spin"), std::string::npos) << e;
  e = read("size: [64]\n");
  EXPECT_NE(e.find("size"), std::string::npos) << e;
  e = read("size: [32, 32]\nmax_speed: 9\n");  // above 32 / 4
  EXPECT_NE(e.find("max_speed"), std::string::npos) << e;
  e = read("contrast_threshold: -1\n");
  EXPECT_NE(e.find("contrast_threshold"), std::string::npos) << e;
  e = read("time_steps: 0\n");
  EXPECT_NE(e.find("time_steps"), std::string::npos) << e;
  e = read("representation: histogram\n");
  EXPECT_NE(e.find("representation"), std::string::npos) << e;
  e = read("size: [1024, 1024]\ntime_steps: 10\ntrain_samples: 1000\n");  // 80 GiB of inputs
  EXPECT_NE(e.find("GiB"), std::string::npos) << e;
  // Unknown keys are left for node.done(), which names them.
  const ConfigNode node = ConfigNode::parse("contrast_treshold: 0.1\n", "f.yaml");
  read_event_synth_source(node, 1);
  e = config_error([&] { node.done(); });
  EXPECT_NE(e.find("contrast_treshold"), std::string::npos) << e;
}

TEST(EventSource, TestSplitIsIndependentOfTheTrainingCount) {
  const ConfigNode a = ConfigNode::parse(
      "size: [16, 16]\nmax_speed: 2\ntime_steps: 2\ntrain_samples: 3\ntest_samples: 2\n", "a");
  const ConfigNode b = ConfigNode::parse(
      "size: [16, 16]\nmax_speed: 2\ntime_steps: 2\ntrain_samples: 5\ntest_samples: 2\n", "b");
  const TrainTestData da = load_event_synth(read_event_synth_source(a, 4));
  const TrainTestData db = load_event_synth(read_event_synth_source(b, 4));
  EXPECT_EQ(da.train.size(), 3);
  EXPECT_EQ(db.train.size(), 5);
  EXPECT_EQ(da.test.size(), 2);
  EXPECT_TRUE(torch::equal(da.test.inputs, db.test.inputs));
  EXPECT_TRUE(torch::equal(da.train.inputs, db.train.inputs.slice(0, 0, 3)));
  EXPECT_FALSE(torch::equal(da.train.inputs.slice(0, 0, 2), da.test.inputs));
  da.train.check();
  da.test.check();
}

}  // namespace
}  // namespace lowbit::data
