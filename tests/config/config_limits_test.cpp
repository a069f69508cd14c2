// Hostile YAML: recursive and exponential aliases, repeated keys, deep nesting, oversized files and
// overrides. Each must be a ConfigError naming the file (and line where there is one), quickly.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "lowbit/config/config_reader.h"

namespace lowbit::config {
namespace {

using ::testing::HasSubstr;

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

std::string parse_error(const std::string& text, const std::vector<std::string>& overrides = {}) {
  return error_of([&] { ConfigNode::parse(text, "h.yaml", overrides); });
}

// The classic "billion laughs": `levels` anchors, each a list of ten aliases of the one before,
// so the last one expands to 10^levels scalars from a few hundred bytes.
std::string billion_laughs(int levels) {
  std::string text = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (int i = 1; i <= levels; ++i) {
    const std::string prev = "*a" + std::to_string(i - 1);
    text += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int j = 0; j < 10; ++j) text += (j ? ", " : "") + prev;
    text += "]\n";
  }
  return text;
}

std::string nested_lists(int depth) {
  return std::string(static_cast<size_t>(depth), '[') + "1" +
         std::string(static_cast<size_t>(depth), ']');
}

// A fresh folder under the test temp dir, removed with its files at the end of the scope.
struct TempDir {
  std::filesystem::path path =
      std::filesystem::path(::testing::TempDir()) /
      ("lowbit_config_limits_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
       "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
  TempDir() { std::filesystem::create_directories(path); }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  std::string write(const std::string& name, const std::string& text) const {
    const std::string file = (path / name).string();
    std::ofstream(file, std::ios::binary) << text;
    return file;
  }
};

TEST(ConfigLimits, RecursiveAliasIsAnErrorWithItsLine) {
  // yaml-cpp builds `&r [*r]` as a list that contains itself; merge expansion used to recurse
  // into it until the stack overflowed.
  std::string message = parse_error("a: 1\nr: &r [*r]\n");
  EXPECT_THAT(message, HasSubstr("h.yaml:2:4"));
  EXPECT_THAT(message, HasSubstr("recursive alias"));
  EXPECT_THAT(parse_error("m: &m {x: 1, self: *m}\n"), HasSubstr("recursive alias"));
  // Through a merge key, and one level further down.
  EXPECT_THAT(parse_error("s: &s {a: {b: {<<: *s}}}\n"), HasSubstr("recursive alias"));
  EXPECT_THAT(parse_error("l: &l [1, [2, [3, *l]]]\n"), HasSubstr("h.yaml:1:4"));
  // The same node reached twice without a cycle is fine.
  ConfigNode root = ConfigNode::parse("x: &x {a: 1}\ny: *x\nz: [*x, *x]\n", "ok.yaml");
  EXPECT_EQ(root.child("y").require<int>("a"), 1);
}

TEST(ConfigLimits, TamperedRunConfigWithRecursiveAliasIsAnError) {
  TempDir dir;
  const std::string file = dir.write("config.yaml", "seed: 1\nstages: &s [{name: fp}, *s]\n");
  const std::string message = error_of([&] { ConfigNode::load_file(file); });
  EXPECT_THAT(message, HasSubstr(file + ":2:9"));
  EXPECT_THAT(message, HasSubstr("recursive alias"));
}

TEST(ConfigLimits, BillionLaughsIsRefusedQuickly) {
  const std::string text = billion_laughs(9);  // 10^10 scalars once expanded
  EXPECT_LT(text.size(), 1000u);
  const auto start = std::chrono::steady_clock::now();
  const std::string message = parse_error(text);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_THAT(message, HasSubstr("h.yaml: more than " + std::to_string(kMaxConfigValues) +
                                 " values with every alias expanded"));
  EXPECT_LT(seconds, 10.0);
  // The same bomb made of maps, and one inside a merge key.
  std::string maps = "m0: &m0 {a: x, b: x, c: x, d: x, e: x, f: x, g: x, h: x}\n";
  for (int i = 1; i <= 9; ++i) {
    const std::string prev = "*m" + std::to_string(i - 1);
    maps += "m" + std::to_string(i) + ": &m" + std::to_string(i) + " {a: " + prev + ", b: " + prev +
            ", c: " + prev + ", d: " + prev + ", e: " + prev + ", f: " + prev + ", g: " + prev +
            ", h: " + prev + "}\n";
  }
  EXPECT_THAT(parse_error(maps + "top: {<<: *m9}\n"), HasSubstr("values with every alias"));
  // A modest fan-out of aliases stays well inside the limit.
  ConfigNode ok = ConfigNode::parse(billion_laughs(3), "ok.yaml");
  EXPECT_EQ(ok.list("a3").size(), 10u);
}

TEST(ConfigLimits, DeepNestingIsAnError) {
  EXPECT_NO_THROW(ConfigNode::parse("a: " + nested_lists(kMaxConfigDepth - 2), "ok.yaml"));
  const std::string message = parse_error("a: " + nested_lists(kMaxConfigDepth + 1));
  EXPECT_THAT(message, HasSubstr("h.yaml:1:"));
  EXPECT_THAT(message, HasSubstr("nested deeper than " + std::to_string(kMaxConfigDepth)));
  // Past yaml-cpp's own recursion guard (and near the size limit) it is still an error, not a
  // stack overflow.
  EXPECT_THAT(parse_error(nested_lists(300000)), HasSubstr("h.yaml:"));
  EXPECT_THAT(parse_error(std::string(300000, '{') + std::string(300000, '}')),
              HasSubstr("h.yaml:"));
}

TEST(ConfigLimits, RepeatedKeysNameBothLines) {
  std::string message = parse_error("a: 1\nb: 2\na: 3\n");
  EXPECT_THAT(message, HasSubstr("h.yaml:3:1: `a`: repeated key (first at h.yaml:1:1)"));
  message = parse_error("stages:\n  - name: fp\n    epochs: 1\n    epochs: 2\n");
  EXPECT_THAT(message, HasSubstr("h.yaml:4:5: `stages[0].epochs`: repeated key"));
  EXPECT_THAT(message, HasSubstr("first at h.yaml:3:5"));
  // Keys compare as text: a quoted "1" repeats 1; a flow map repeats too; so does a merge key.
  EXPECT_THAT(parse_error("x: {1: a, '1': b}\n"), HasSubstr("`x.1`: repeated key"));
  EXPECT_THAT(parse_error("a: &a {k: 1}\nb: &b {k: 2}\nc: {<<: *a, <<: *b}\n"),
              HasSubstr("`c.<<`: repeated key"));
}

TEST(ConfigLimits, KeysMustBeText) {
  EXPECT_THAT(parse_error("[1, 2]: x\n"), HasSubstr("expected a text key, got a list"));
  EXPECT_THAT(parse_error("a:\n  ? {b: 1}\n  : 2\n"), HasSubstr("`a`: expected a text key"));
  EXPECT_THAT(parse_error("~: 1\n"), HasSubstr("expected a text key, got nothing (null)"));
}

TEST(ConfigLimits, OversizedConfigIsRefusedBeforeParsing) {
  const std::string big(kMaxConfigBytes + 1, '#');
  EXPECT_THAT(parse_error(big), HasSubstr("h.yaml: 1048577 bytes of YAML; the limit is 1048576"));
  TempDir dir;
  // 10 MB of list items: used to take 1.5 GB of memory.
  std::string items;
  while (items.size() < 10u * 1000 * 1000) items += "- 123456789\n";
  const std::string file = dir.write("big.yaml", items);
  EXPECT_THAT(error_of([&] { ConfigNode::load_file(file); }),
              HasSubstr(file + ": the config file is larger than the limit of 1048576 bytes"));
  // Exactly at the limit is read.
  std::string at_limit = "a: 1\n";
  at_limit += std::string(kMaxConfigBytes - at_limit.size(), '\n');
  const ConfigNode root = ConfigNode::load_file(dir.write("at_limit.yaml", at_limit));
  EXPECT_EQ(root.require<int>("a"), 1);
  EXPECT_THAT(error_of([&] { ConfigNode::load_file(dir.path.string()); }),
              HasSubstr(dir.path.string() + ": is a folder"));
}

TEST(ConfigLimits, LongScalarsAreShortenedInMessages) {
  ConfigNode root = ConfigNode::parse("a: " + std::string(100000, 'z') + "\n", "h.yaml");
  const std::string wrong = error_of([&] { root.require<int>("a"); });
  EXPECT_THAT(wrong, HasSubstr("(100000 characters)"));
  EXPECT_LT(wrong.size(), 400u);
}

TEST(ConfigLimits, HostileOverridesAreErrors) {
  const std::string base = "seed: 1\nstages: [{name: a}, {name: b}]\nempty: []\n";
  EXPECT_THAT(parse_error(base, {"stages.0.x=" + billion_laughs(9)}),
              HasSubstr("--set stages.0.x: more than"));
  EXPECT_THAT(parse_error(base, {"seed=&r [*r]"}), HasSubstr("--set seed:1:1"));
  EXPECT_THAT(parse_error(base, {"stages.0.x=" + nested_lists(kMaxConfigDepth)}),
              HasSubstr("nested deeper than"));
  EXPECT_THAT(parse_error(base, {"seed={a: 1, a: 2}"}), HasSubstr("repeated key"));
  EXPECT_THAT(parse_error(base, {"seed=" + std::string(kMaxConfigBytes + 1, '1')}),
              HasSubstr("--set seed: 1048577 bytes of YAML; the limit is 1048576"));
  // An index too large for any integer type is out of range, not a std::out_of_range escape.
  EXPECT_THAT(parse_error(base, {"stages.99999999999999999999999.name=x"}),
              HasSubstr("index 99999999999999999999999 is out of range; `stages` has 2"));
  EXPECT_THAT(parse_error(base, {"empty.x=1"}), HasSubstr("expected an index (it is empty)"));
  EXPECT_THAT(parse_error(base, {"seed=[1, 2"}), HasSubstr("--set seed:1:"));
}

TEST(ConfigLimits, IntegerRangesAreExact) {
  ConfigNode root = ConfigNode::parse(
      "epochs: 9223372036854775807\nn: -9223372036854775808\n"
      "big: 99999999999999999999\n",
      "h.yaml");
  const std::string message =
      error_of([&] { root.get_in_range<int64_t>("epochs", 1, 1, 1000000); });
  EXPECT_THAT(message, HasSubstr("h.yaml:1:9: `epochs`: expected an integer in [1, 1000000], got "
                                 "9223372036854775807"));
  EXPECT_THAT(error_of([&] { root.require_in_range<int64_t>("n", 0, 10); }),
              HasSubstr("[0, 10], got -9223372036854775808"));
  EXPECT_THAT(error_of([&] { root.require<int64_t>("big"); }), HasSubstr("expected an integer"));
  EXPECT_THAT(error_of([&] { root.require_in_range<int64_t>("missing", 0, 10); }),
              HasSubstr("missing required key"));
  EXPECT_EQ(ConfigNode::parse("e: 7\n", "h.yaml").require_in_range<int64_t>("e", 1, 7), 7);
}

}  // namespace
}  // namespace lowbit::config
