#include "lowbit/config/config_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

namespace lowbit::config {
namespace {

using ::testing::HasSubstr;

const char* const kConfig =
    "name: demo\n"                                                     // line 1
    "seed: 7\n"                                                        // line 2
    "stages:\n"                                                        // line 3
    "  - name: fp\n"                                                   // line 4
    "    epochs: 10\n"                                                 // line 5
    "  - name: q4\n"                                                   // line 6
    "    epochs: 20\n"                                                 // line 7
    "    lr_schedule:\n"                                               // line 8
    "      type: polynomial\n"                                         // line 9
    "      power: two\n"                                               // line 10
    "      milestones: [30, x, 60]\n"                                  // line 11
    "    optimizer: {type: adamw, lr: 0.001, betas: [0.9, 0.999]}\n";  // line 12

// Runs `body`, expects a ConfigError and returns its message.
template <class Body>
std::string error_of(Body body) {
  try {
    body();
  } catch (const ConfigError& error) {
    return error.what();
  }
  ADD_FAILURE() << "no ConfigError thrown";
  return "";
}

TEST(ConfigReader, ReadsTypedValuesAndDefaults) {
  ConfigNode root = ConfigNode::parse(kConfig, "demo.yaml");
  EXPECT_EQ(root.require<std::string>("name"), "demo");
  EXPECT_EQ(root.require<int>("seed"), 7);
  EXPECT_EQ(root.get<int64_t>("batch_size", 128), 128);
  EXPECT_FALSE(root.optional<double>("missing").has_value());
  std::vector<ConfigNode> stages = root.list("stages");
  ASSERT_EQ(stages.size(), 2u);
  EXPECT_EQ(stages[1].path(), "stages[1]");
  EXPECT_EQ(stages[1].require<int>("epochs"), 20);
  ConfigNode optimizer = stages[1].child("optimizer");
  EXPECT_EQ(optimizer.path(), "stages[1].optimizer");
  EXPECT_EQ(optimizer.require<std::vector<double>>("betas"), (std::vector<double>{0.9, 0.999}));
  EXPECT_EQ(optimizer.choice("type", "sgd", {"sgd", "adam", "adamw"}), "adamw");
  EXPECT_DOUBLE_EQ(optimizer.require_positive<double>("lr"), 0.001);
  optimizer.done();
}

TEST(ConfigReader, WrongTypeNamesPathFileAndLine) {
  ConfigNode root = ConfigNode::parse(kConfig, "demo.yaml");
  ConfigNode schedule = root.list("stages")[1].child("lr_schedule");
  const std::string message = error_of([&] { schedule.require<double>("power"); });
  EXPECT_THAT(message, HasSubstr("demo.yaml:10:14"));
  EXPECT_THAT(message, HasSubstr("`stages[1].lr_schedule.power`"));
  EXPECT_THAT(message, HasSubstr("expected a finite number, got 'two'"));
}

TEST(ConfigReader, BadListElementNamesIndexAndLine) {
  ConfigNode root = ConfigNode::parse(kConfig, "demo.yaml");
  ConfigNode schedule = root.list("stages")[1].child("lr_schedule");
  const std::string message = error_of([&] { schedule.require<std::vector<int>>("milestones"); });
  EXPECT_THAT(message, HasSubstr("demo.yaml:11:"));
  EXPECT_THAT(message, HasSubstr("`stages[1].lr_schedule.milestones[1]`"));
  EXPECT_THAT(message, HasSubstr("expected an integer"));
}

TEST(ConfigReader, BadChoiceListsChoices) {
  ConfigNode root = ConfigNode::parse(kConfig, "demo.yaml");
  ConfigNode schedule = root.list("stages")[1].child("lr_schedule");
  const std::string message = error_of([&] {
    schedule.choice("type", "constant", {"constant", "cosine", "step"});
  });
  EXPECT_THAT(message, HasSubstr("demo.yaml:9:"));
  EXPECT_THAT(message, HasSubstr("`stages[1].lr_schedule.type`"));
  EXPECT_THAT(message, HasSubstr("expected one of constant, cosine, step; got 'polynomial'"));
}

TEST(ConfigReader, MissingRequiredKeyPointsAtItsSection) {
  ConfigNode root = ConfigNode::parse(kConfig, "demo.yaml");
  ConfigNode first = root.list("stages")[0];
  const std::string message = error_of([&] { first.require<double>("lr"); });
  EXPECT_THAT(message, HasSubstr("demo.yaml:4:"));
  EXPECT_THAT(message, HasSubstr("`stages[0].lr`: missing required key"));
}

TEST(ConfigReader, DoneRejectsUnreadKeysWithSuggestion) {
  ConfigNode root = ConfigNode::parse("epochs: 3\nlearnig_rate: 0.1\n", "typo.yaml");
  EXPECT_EQ(root.require<int>("epochs"), 3);
  EXPECT_EQ(root.get<double>("learning_rate", 0.01), 0.01);
  const std::string message = error_of([&] { root.done(); });
  EXPECT_THAT(message, HasSubstr("typo.yaml:2:1"));
  EXPECT_THAT(message, HasSubstr("`learnig_rate`: unknown key"));
  EXPECT_THAT(message, HasSubstr("did you mean 'learning_rate'?"));
  EXPECT_THAT(message, HasSubstr("accepted keys: epochs, learning_rate"));
}

TEST(ConfigReader, DoneAcceptsFullyReadSection) {
  ConfigNode root = ConfigNode::parse("a: 1\nb: [1, 2]\n", "ok.yaml");
  root.require<int>("a");
  root.require<std::vector<int64_t>>("b");
  EXPECT_NO_THROW(root.done());
}

TEST(ConfigReader, KeysOfUserNamedSections) {
  ConfigNode root = ConfigNode::parse("layers:\n  fc1: {bits: 4}\n  fc2: {bits: 2}\n", "k.yaml");
  ConfigNode layers = root.child("layers");
  EXPECT_EQ(layers.keys(), (std::vector<std::string>{"fc1", "fc2"}));
  EXPECT_EQ(layers.child("fc2").require<int>("bits"), 2);
  EXPECT_EQ(layers.child("fc2").path(), "layers.fc2");
  EXPECT_NO_THROW(layers.done());
  EXPECT_NO_THROW(root.done());
}

TEST(ConfigReader, FloatValues) {
  ConfigNode root = ConfigNode::parse("a: 0.25\nb: [1, 2.5]\nc: 1.0e300\n", "f.yaml");
  EXPECT_EQ(root.require<float>("a"), 0.25f);
  EXPECT_EQ(root.require<std::vector<float>>("b"), (std::vector<float>{1.0f, 2.5f}));
  EXPECT_THAT(error_of([&] { root.require<float>("c"); }), HasSubstr("within the float range"));
}

TEST(ConfigReader, RangeChecks) {
  ConfigNode root = ConfigNode::parse("momentum: 1.5\nlr: 0\n", "r.yaml");
  EXPECT_THAT(error_of([&] { root.get_in_range<double>("momentum", 0.0, 0.0, 1.0); }),
              HasSubstr("r.yaml:1:11: `momentum`: expected a value in [0, 1], got 1.5"));
  EXPECT_THAT(error_of([&] { root.require_positive<double>("lr"); }),
              HasSubstr("`lr`: expected a value > 0, got 0"));
}

TEST(ConfigReader, WrongShapes) {
  ConfigNode root = ConfigNode::parse("opt: 3\nitems: {a: 1}\nflag: maybe\n", "s.yaml");
  EXPECT_THAT(error_of([&] { root.child("opt"); }), HasSubstr("expected a map of settings"));
  EXPECT_THAT(error_of([&] { root.list("items"); }), HasSubstr("expected a list, got a map"));
  EXPECT_THAT(error_of([&] { root.require<bool>("flag"); }),
              HasSubstr("expected true or false, got 'maybe'"));
  EXPECT_THAT(error_of([&] { root.require<int>("items"); }),
              HasSubstr("expected an integer (32-bit), got a map"));
}

TEST(ConfigReader, SyntaxErrorNamesFileAndLine) {
  EXPECT_THAT(error_of([] { ConfigNode::parse("a: 1\nb: [1, 2\n", "bad.yaml"); }),
              HasSubstr("bad.yaml:"));
  EXPECT_THAT(error_of([] { ConfigNode::load_file("/nonexistent/lowbit.yaml"); }),
              HasSubstr("/nonexistent/lowbit.yaml: cannot open"));
}

TEST(ConfigReader, LoadFileReportsItsPath) {
  const std::string path = ::testing::TempDir() + "lowbit_config_reader_test.yaml";
  {
    std::ofstream out(path);
    out << "epochs: 5\nbatch: nine\n";
  }
  ConfigNode root = ConfigNode::load_file(path);
  EXPECT_EQ(root.require<int>("epochs"), 5);
  EXPECT_THAT(error_of([&] { root.require<int>("batch"); }), HasSubstr(path + ":2:8: `batch`"));
  std::remove(path.c_str());
}

TEST(ConfigReader, MergeKeysCopyTheAnchoredMapWithoutSharingIt) {
  const char* text = R"(stages:
  - &base
    name: a
    epochs: 3
    optimizer: {type: adam, lr: 0.1}
  - <<: *base
    name: b
  - <<: [*base, {batch_size: 7}]
    name: c
    epochs: 9
)";
  ConfigNode root = ConfigNode::parse(text, "m.yaml", {"stages.1.optimizer.lr=0.5"});
  std::vector<ConfigNode> stages = root.list("stages");
  ASSERT_EQ(stages.size(), 3u);
  EXPECT_EQ(stages[1].require<std::string>("name"), "b");
  EXPECT_EQ(stages[1].require<int>("epochs"), 3);
  EXPECT_DOUBLE_EQ(stages[1].child("optimizer").require<double>("lr"), 0.5);
  // The override of stage b did not reach its anchor a, nor c.
  EXPECT_DOUBLE_EQ(stages[0].child("optimizer").require<double>("lr"), 0.1);
  EXPECT_DOUBLE_EQ(stages[2].child("optimizer").require<double>("lr"), 0.1);
  EXPECT_EQ(stages[2].require<int>("epochs"), 9);
  EXPECT_EQ(stages[2].require<int>("batch_size"), 7);
  EXPECT_FALSE(stages[1].has("<<"));
  // Merged keys keep the line of the anchor for error messages.
  const std::string message = error_of([&] { stages[1].child("optimizer").require<int>("type"); });
  EXPECT_THAT(message, HasSubstr("m.yaml:5:"));
  EXPECT_THAT(message, HasSubstr("merged"));
  EXPECT_THAT(error_of([] { ConfigNode::parse("a: {<<: 3}", "bad.yaml"); }),
              HasSubstr("bad.yaml:1:"));
}

TEST(ConfigOverrides, NestedScalarAndListIndex) {
  ConfigNode root =
      ConfigNode::parse(kConfig, "demo.yaml",
                        {"seed=11", "stages.1.epochs=40", "stages[0].name=base",
                         "stages.1.lr_schedule.milestones=[5, 6]", "stages.1.optimizer.lr=3e-4"});
  EXPECT_EQ(root.require<int>("seed"), 11);
  std::vector<ConfigNode> stages = root.list("stages");
  EXPECT_EQ(stages[1].require<int>("epochs"), 40);
  EXPECT_EQ(stages[0].require<std::string>("name"), "base");
  EXPECT_EQ(stages[1].child("lr_schedule").require<std::vector<int>>("milestones"),
            (std::vector<int>{5, 6}));
  EXPECT_DOUBLE_EQ(stages[1].child("optimizer").require<double>("lr"), 3e-4);
}

TEST(ConfigOverrides, NewLeafKeyIsCheckedByDone) {
  ConfigNode root = ConfigNode::parse(kConfig, "demo.yaml", {"stages.0.epocs=3"});
  ConfigNode first = root.list("stages")[0];
  first.require<std::string>("name");
  first.require<int>("epochs");
  const std::string message = error_of([&] { first.done(); });
  EXPECT_THAT(message, HasSubstr("--set stages[0].epocs: `stages[0].epocs`: unknown key"));
  EXPECT_THAT(message, HasSubstr("did you mean 'epochs'?"));
}

TEST(ConfigOverrides, ErrorsInOverriddenValuesNameTheOverride) {
  ConfigNode root = ConfigNode::parse(kConfig, "demo.yaml", {"stages.1.epochs=many"});
  EXPECT_THAT(error_of([&] { root.list("stages")[1].require<int>("epochs"); }),
              HasSubstr("--set stages[1].epochs: `stages[1].epochs`: expected an integer"));
}

TEST(ConfigOverrides, BadPaths) {
  EXPECT_THAT(error_of([] { ConfigNode::parse(kConfig, "d.yaml", {"stages.5.epochs=1"}); }),
              HasSubstr("index 5 is out of range; `stages` has 2 elements"));
  EXPECT_THAT(error_of([] { ConfigNode::parse(kConfig, "d.yaml", {"stage.1.epochs=1"}); }),
              HasSubstr("no key `stage` in the config (keys there: name, seed, stages)"));
  EXPECT_THAT(error_of([] { ConfigNode::parse(kConfig, "d.yaml", {"stages.first.epochs=1"}); }),
              HasSubstr("`stages` is a list; expected an index"));
  EXPECT_THAT(error_of([] { ConfigNode::parse(kConfig, "d.yaml", {"seed.x=1"}); }),
              HasSubstr("`seed` is not a map or a list"));
  EXPECT_THAT(error_of([] { ConfigNode::parse(kConfig, "d.yaml", {"seed"}); }),
              HasSubstr("expected KEY.PATH=VALUE"));
  EXPECT_THAT(error_of([] { ConfigNode::parse(kConfig, "d.yaml", {"stages..epochs=1"}); }),
              HasSubstr("empty key"));
}

TEST(ConfigOverrides, ApplyOverrideReturnsCanonicalPath) {
  YAML::Node root = YAML::Load("a: {b: [1, {c: 2}]}");
  EXPECT_EQ(apply_override(root, "a.b.1.c=5"), "a.b[1].c");
  EXPECT_EQ(root["a"]["b"][1]["c"].as<int>(), 5);
  EXPECT_EQ(root["a"]["b"][0].as<int>(), 1);
  EXPECT_EQ(apply_override(root, "a.b[0]=9"), "a.b[0]");
  EXPECT_EQ(root["a"]["b"][0].as<int>(), 9);
}

}  // namespace
}  // namespace lowbit::config
