#include "lowbit/quant/affine/activation_quantizers.h"

#include <gtest/gtest.h>
#include <torch/autograd.h>

#include <string>
#include <vector>

#include "lowbit/quant/registry.h"
#include "quant/quantizer_checks.h"

namespace lowbit::quant {
namespace {

Quantizer make(const std::string& text) {
  return make_quantizer(std::string_view(text), Role::kActivation);
}

torch::Tensor run(const std::string& text, const std::vector<float>& in) {
  return make(text)->forward(torch::tensor(in));
}

// QKeras quantized_relu(4, 0): relu, step 2^(0-4), codes 0..15.
TEST(QuantizedRelu, QKerasTables) {
  EXPECT_TRUE(
      torch::equal(run("quantized_relu:bits=4,integer=0", {-1, 0.02f, 0.1f, 0.5f, 0.95f, 3}),
                   torch::tensor({0.0f, 0.0f, 0.125f, 0.5f, 0.9375f, 0.9375f})));
  // quantized_relu(4, 2): step 0.25, largest value 4 - 0.25.
  EXPECT_TRUE(torch::equal(run("quantized_relu:bits=4,integer=2", {-1, 0.3f, 1.1f, 3.9f, 10}),
                           torch::tensor({0.0f, 0.25f, 1.0f, 3.75f, 3.75f})));
  // relu_upper_bound = 2 clips before rounding.
  EXPECT_TRUE(torch::equal(run("quantized_relu:bits=4,integer=2,max=2", {1.9f, 2.3f, 10}),
                           torch::tensor({2.0f, 2.0f, 2.0f})));
}

TEST(QuantizedRelu, GradientIsZeroAboveTheBoundAndBelowZero) {
  const torch::Tensor x = torch::tensor({-1.0f, 0.3f, 1.9f, 2.3f}, torch::requires_grad());
  make("quantized_relu:bits=4,integer=2,max=2")->forward(x).backward(torch::full({4}, 3.0f));
  EXPECT_TRUE(torch::equal(x.grad(), torch::tensor({0.0f, 3.0f, 3.0f, 0.0f})));
}

TEST(Clip, Relu6CodesAndSignedClip) {
  const IntegerForm relu6 = make("clip:bits=8,signed=0,max=6")
                                ->integer_form(torch::tensor({-1.0f, 0.0f, 1.2f, 6.0f, 7.0f}));
  EXPECT_TRUE(torch::equal(relu6.codes, torch::tensor({0, 0, 51, 255, 255}, torch::kInt32)));
  EXPECT_FLOAT_EQ(relu6.scale.item<float>(), 6.0f / 255.0f);
  EXPECT_FALSE(relu6.is_signed);
  // Signed 3 bits on [-1.5, 1.5]: step 0.5, codes -3..3.
  const Quantizer q = make("clip:bits=3,signed=1,max=1.5");
  const torch::Tensor x = torch::tensor({-2.0f, -0.6f, 0.26f, 1.49f, 4.0f});
  EXPECT_TRUE(
      torch::equal(q->integer_form(x).codes, torch::tensor({-3, -1, 1, 3, 3}, torch::kInt32)));
  EXPECT_TRUE(torch::equal(q->forward(x), torch::tensor({-1.5f, -0.5f, 0.5f, 1.5f, 1.5f})));
}

// QKeras quantized_sigmoid(3) with the hard sigmoid: clip(round(8 clip(0.5x+0.5, 0, 1)) / 8,
// 1/8, 7/8).
TEST(HardSigmoid, QKerasTable) {
  EXPECT_TRUE(torch::equal(run("hard_sigmoid:bits=3", {-3, -0.9f, -0.3f, 0, 0.2f, 0.7f, 2}),
                           torch::tensor({0.125f, 0.125f, 0.375f, 0.5f, 0.625f, 0.875f, 0.875f})));
  const IntegerForm form = make("hard_sigmoid:bits=3")->integer_form(torch::tensor({-3.0f, 0.2f}));
  EXPECT_TRUE(torch::equal(form.codes, torch::tensor({1, 5}, torch::kInt32)));
  EXPECT_EQ(form.scale.item<float>(), 0.125f);
  EXPECT_EQ(form.zero_point.item<int>(), 0);
}

TEST(HardSigmoid, GradientIsHalfInsideAndZeroWhereClipped) {
  const torch::Tensor x = torch::tensor({-3.0f, -0.3f, 0.2f, 2.0f}, torch::requires_grad());
  make("hard_sigmoid:bits=3")->forward(x).backward(torch::full({4}, 2.0f));
  EXPECT_TRUE(torch::equal(x.grad(), torch::tensor({0.0f, 1.0f, 1.0f, 0.0f})));
}

// QKeras quantized_tanh(3) with the hard tanh: clip(round(4 clip(x, -1, 1)) / 4, -3/4, 3/4).
TEST(HardTanh, QKerasTable) {
  EXPECT_TRUE(torch::equal(run("hard_tanh:bits=3", {-2, -0.6f, -0.1f, 0.13f, 0.4f, 5}),
                           torch::tensor({-0.75f, -0.5f, 0.0f, 0.25f, 0.5f, 0.75f})));
}

TEST(ActivationQuantizers, GridPropertiesHoldForEveryBitWidth) {
  torch::manual_seed(21);
  for (const std::string type :
       {"quantized_relu:integer=1", "quantized_relu:integer=0,max=0.7", "clip:max=6",
        "clip:signed=1,max=2", "hard_sigmoid", "hard_tanh"}) {
    const int lowest = type.rfind("clip", 0) == 0 || type == "hard_tanh" ? 2 : 1;
    for (int bits = lowest; bits <= 8; ++bits) {
      const std::string text =
          type + (type.find(':') == std::string::npos ? ":" : ",") + "bits=" + std::to_string(bits);
      const Quantizer q = make(text);
      for (const auto& shape : testing::awkward_shapes()) {
        const torch::Tensor x = torch::randn(shape) * 3;
        testing::expect_integer_form_matches(*q, x, text);
        const torch::Tensor y = q->forward(x);
        testing::expect_on_levels(y, q->levels(x), text);
        if (type != "hard_sigmoid") {
          EXPECT_TRUE(torch::equal(q->forward(y), y)) << text << " is not idempotent";
        }
      }
    }
  }
}

TEST(ActivationQuantizers, SetBitsAndSpec) {
  const Quantizer q = make("hard_tanh:bits=4");
  q->set_bits(2);
  EXPECT_EQ(q->spec().str(), "hard_tanh:bits=2");
  EXPECT_TRUE(torch::equal(q->forward(torch::tensor({-3.0f, 0.2f, 0.9f})),
                           torch::tensor({-0.5f, 0.0f, 0.5f})));
  EXPECT_THROW(q->set_bits(1), SpecError);
  const Quantizer relu = make("quantized_relu");
  relu->set_bits(3);
  EXPECT_EQ(relu->spec().str(), "quantized_relu:bits=3");
  EXPECT_EQ(relu->levels(torch::zeros({1})).numel(), 8);
}

std::string spec_error(const std::string& text, Role role = Role::kActivation) {
  try {
    make_quantizer(std::string_view(text), role);
  } catch (const SpecError& e) {
    return e.what();
  }
  return "no error";
}

TEST(ActivationQuantizers, BadSpecsNameTheKey) {
  EXPECT_NE(spec_error("clip:max=-1").find("'max'"), std::string::npos);
  EXPECT_NE(spec_error("clip:max=abc").find("'max'"), std::string::npos);
  EXPECT_NE(spec_error("hard_tanh:bits=1").find("'bits'"), std::string::npos);
  EXPECT_NE(spec_error("hard_sigmoid:integer=1").find("'integer'"), std::string::npos);
  EXPECT_NE(spec_error("quantized_relu:bits=0").find("'bits'"), std::string::npos);
  EXPECT_NE(spec_error("quantized_relu:signed=1").find("'signed'"), std::string::npos);
  EXPECT_NE(spec_error("quantized_relu", Role::kWeight).find("weight"), std::string::npos);
}

TEST(ActivationQuantizers, RegistryListsTheFourTypes) {
  for (const std::string name : {"quantized_relu", "clip", "hard_sigmoid", "hard_tanh"}) {
    const QuantizerType& type = quantizer_type(name);
    EXPECT_EQ(type.roles, std::vector<Role>{Role::kActivation}) << name;
    for (const auto& p : type.params) {
      EXPECT_FALSE(p.default_value.empty()) << name << "." << p.name;
      EXPECT_FALSE(p.description.empty()) << name << "." << p.name;
    }
  }
}

}  // namespace
}  // namespace lowbit::quant
