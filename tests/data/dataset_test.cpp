#include "lowbit/data/dataset.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <set>
#include <string>

#include "data/test_files.h"
#include "lowbit/util/atomic_file.h"

namespace lowbit::data {
namespace {

Dataset make_dataset(int64_t n, int64_t classes) {
  Dataset d;
  d.inputs = torch::arange(n * 2, torch::kFloat32).reshape({n, 2});
  d.targets = torch::arange(n, torch::kInt64).remainder(classes);
  d.name = "toy";
  d.num_classes = classes;
  return d;
}

std::set<int64_t> ids_of(const Dataset& d) {
  std::set<int64_t> ids;
  // Column 0 holds 2 * original index, so it identifies the sample.
  for (int64_t i = 0; i < d.size(); ++i) ids.insert(d.inputs[i][0].item<int64_t>() / 2);
  return ids;
}

TEST(Dataset, SubsetTakesRowsInOrder) {
  const Dataset d = make_dataset(10, 3);
  d.check();
  const Dataset s = d.subset(std::vector<int64_t>{7, 2, 2});
  ASSERT_EQ(s.size(), 3);
  EXPECT_EQ(s.inputs[0][1].item<float>(), 15.0f);
  EXPECT_EQ(s.targets[0].item<int64_t>(), 1);
  EXPECT_EQ(s.targets[1].item<int64_t>(), 2);
  EXPECT_EQ(s.num_classes, 3);
}

TEST(Dataset, CheckRejectsMismatches) {
  Dataset d = make_dataset(5, 2);
  d.targets = torch::zeros({4}, torch::kInt64);
  EXPECT_THROW(d.check(), std::invalid_argument);
  d = make_dataset(5, 2);
  d.targets[0] = 2;
  try {
    d.check();
    FAIL() << "expected invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("toy"), std::string::npos);
  }
}

TEST(Dataset, SplitIsDeterministicDisjointAndComplete) {
  const Dataset d = make_dataset(1000, 4);
  const Split a = split_validation(d, 0.2, 11);
  const Split b = split_validation(d, 0.2, 11);
  const Split c = split_validation(d, 0.2, 12);
  EXPECT_EQ(a.val.size(), 200);
  EXPECT_EQ(a.train.size(), 800);
  EXPECT_TRUE(torch::equal(a.val.inputs, b.val.inputs));
  EXPECT_FALSE(torch::equal(a.val.inputs, c.val.inputs));
  const auto train = ids_of(a.train);
  const auto val = ids_of(a.val);
  EXPECT_EQ(train.size(), 800u);
  EXPECT_EQ(val.size(), 200u);
  for (int64_t id : val) EXPECT_EQ(train.count(id), 0u);
  std::set<int64_t> all(train);
  all.insert(val.begin(), val.end());
  EXPECT_EQ(all.size(), 1000u);
}

TEST(Dataset, StratifiedSplitKeepsClassProportions) {
  Dataset d = make_dataset(1000, 4);
  // Unequal classes: 700 of class 0, 100 each of 1..3.
  d.targets =
      torch::cat({torch::zeros({700}, torch::kInt64), torch::full({100}, 1, torch::kInt64),
                  torch::full({100}, 2, torch::kInt64), torch::full({100}, 3, torch::kInt64)});
  const Split s = split_validation(d, 0.1, 3, /*stratify=*/true);
  EXPECT_EQ(class_counts(s.val), (std::vector<int64_t>{70, 10, 10, 10}));
  EXPECT_EQ(class_counts(s.train), (std::vector<int64_t>{630, 90, 90, 90}));
}

TEST(Dataset, SplitRejectsBadFraction) {
  EXPECT_THROW(split_validation(make_dataset(10, 2), 1.5, 0), std::invalid_argument);
  Dataset f = make_dataset(10, 2);
  f.targets = f.targets.to(torch::kFloat32);
  EXPECT_THROW(split_validation(f, 0.5, 0, true), std::invalid_argument);
}

using testing::file_error_of;

TEST(Dataset, CountClassesBoundsTheIds) {
  EXPECT_EQ(count_classes(torch::tensor({0, 3, 1}, torch::kInt64), "y.npy"), 4);
  EXPECT_EQ(count_classes(torch::tensor({kMaxClassId}, torch::kInt64), "y.npy"), kMaxClassId + 1);
  std::string msg = file_error_of([] {
    count_classes(torch::tensor({int64_t{0}, int64_t{1}, int64_t{1000000000000}}), "y.npy");
  });
  EXPECT_NE(msg.find("y.npy: class id 1000000000000 at sample 2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("0..65535"), std::string::npos) << msg;
  msg = file_error_of([] { count_classes(torch::tensor({2, -1}, torch::kInt64), "t.npy"); });
  EXPECT_NE(msg.find("t.npy: class id -1 at sample 1"), std::string::npos) << msg;
}

TEST(Dataset, RequireFiniteNamesTheSampleAndElement) {
  require_finite(torch::ones({3, 4}), "x.npy", "inputs");
  require_finite(torch::tensor({1, 2}, torch::kInt64), "y.npy", "targets");
  torch::Tensor x = torch::zeros({3, 4});
  x[2][1] = std::nanf("");
  std::string msg = file_error_of([&] { require_finite(x, "x.npy", "inputs"); });
  EXPECT_NE(msg.find("x.npy: inputs hold NaN at sample 2, element 1"), std::string::npos) << msg;
  torch::Tensor y = torch::zeros({5});
  y[3] = -std::numeric_limits<float>::infinity();
  msg = file_error_of([&] { require_finite(y, "y.npy", "targets"); });
  EXPECT_NE(msg.find("y.npy: targets hold infinity at element 3"), std::string::npos) << msg;
}

}  // namespace
}  // namespace lowbit::data
