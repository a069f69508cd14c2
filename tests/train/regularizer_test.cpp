#include "lowbit/train/regularizers/regularizer.h"

#include <gtest/gtest.h>

#include "train/test_models.h"

namespace lowbit::train {
namespace {

// Sum of squared weights times `lambda`, to check that the hook passes the entry's keys along.
class SquaredWeights : public Regularizer {
 public:
  explicit SquaredWeights(double lambda) : lambda_(lambda) {}
  torch::Tensor penalty(torch::nn::Module& model, int64_t) override {
    torch::Tensor sum = torch::zeros({});
    for (const auto& p : model.parameters()) sum = sum + p.pow(2).sum();
    return lambda_ * sum;
  }
  std::string name() const override { return "squared_weights_test"; }

 private:
  double lambda_;
};

TEST(Regularizer, RegisteredTypesAreBuiltFromTheirEntries) {
  register_regularizer("squared_weights_test", [](const config::ConfigNode& node) {
    return std::make_shared<SquaredWeights>(node.require<double>("lambda"));
  });
  auto r =
      make_regularizer(config::ConfigNode::parse("{type: squared_weights_test, lambda: 0.5}", "r"));
  EXPECT_EQ(r->name(), "squared_weights_test");
  testing::TwoLayer model(2, 2, 1, false);
  torch::Tensor expected = torch::zeros({});
  for (const auto& p : model.parameters()) expected = expected + p.pow(2).sum();
  EXPECT_TRUE(torch::allclose(r->penalty(model, 0), 0.5 * expected));
  try {
    make_regularizer(
        config::ConfigNode::parse("{type: squared_weights_test, lambda: 1, x: 2}", "r.yaml"));
    FAIL() << "expected config::ConfigError";
  } catch (const config::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("x"), std::string::npos);
  }
  try {
    make_regularizer(config::ConfigNode::parse("{type: l9}", "r.yaml"));
    FAIL() << "expected config::ConfigError";
  } catch (const config::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("squared_weights_test"), std::string::npos);
  }
}

}  // namespace
}  // namespace lowbit::train
