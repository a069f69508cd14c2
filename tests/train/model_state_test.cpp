#include "lowbit/train/checkpoint/model_state.h"

#include <gtest/gtest.h>

#include "train/test_models.h"

namespace lowbit::train {
namespace {

TEST(ModelState, HoldsParametersAndBuffersAndLoadsBack) {
  torch::manual_seed(1);
  testing::TwoLayer a(3, 4, 2, true), b(3, 4, 2, true);
  NamedTensors state = model_state(a);
  ASSERT_EQ(state.size(), 6u);  // 4 linear tensors, step, count
  EXPECT_NE(state.find("q.weight_quant.count"), nullptr);
  EXPECT_FALSE(torch::equal(a.fc1->weight, b.fc1->weight));
  load_model_state(b, state, "test");
  EXPECT_TRUE(torch::equal(a.fc1->weight, b.fc1->weight));
  EXPECT_TRUE(torch::equal(a.fc2->bias, b.fc2->bias));
  EXPECT_EQ(parameter_count(a), 3 * 4 + 4 + 4 * 2 + 2 + 1);
}

TEST(ModelState, LoadListsEveryProblem) {
  testing::TwoLayer a(3, 4, 2, false), b(3, 5, 2, true);
  try {
    load_model_state(b, model_state(a), "ckpt.pt");
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("ckpt.pt"), std::string::npos);
    EXPECT_NE(m.find("shape of 'fc1.weight' is (4, 3), model has (5, 3)"), std::string::npos);
    EXPECT_NE(m.find("missing 'q.weight_quant.step'"), std::string::npos);
  }
  testing::TwoLayer c(3, 4, 2, true);
  EXPECT_THROW(load_model_state(a, model_state(c), "x"), std::runtime_error);  // unexpected
}

TEST(ModelState, ShapeText) {
  EXPECT_EQ(shape_text(torch::zeros({22, 32})), "(22, 32)");
  EXPECT_EQ(shape_text(torch::zeros({7})), "(7)");
}

}  // namespace
}  // namespace lowbit::train
