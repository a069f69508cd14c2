#include "lowbit/nn/qconv_transpose2d.h"

#include <gtest/gtest.h>
#include <torch/autograd.h>
#include <torch/nn/modules/conv.h>

#include <string>
#include <vector>

#include "lowbit/nn/quantized_layer.h"

namespace lowbit::nn {
namespace {

TEST(QConvTranspose2d, MatchesTorchConvTranspose2dAfterTheLayoutConversion) {
  for (int64_t groups : {int64_t{1}, int64_t{2}}) {
    torch::manual_seed(51);
    torch::nn::ConvTranspose2d fp(
        torch::nn::ConvTranspose2dOptions(4, 6, 3).stride(2).padding(1).output_padding(1).groups(
            groups));
    torch::manual_seed(51);
    QConvTranspose2d q(
        QConvTranspose2dOptions(4, 6, 3).stride(2).padding(1).output_padding(1).groups(groups));
    EXPECT_EQ(q->named_parameters().keys(), fp->named_parameters().keys());
    EXPECT_EQ(q->weight.sizes(), torch::IntArrayRef({6, 4 / groups, 3, 3}));
    EXPECT_EQ(fp->weight.sizes(), torch::IntArrayRef({4, 6 / groups, 3, 3}));
    // Same random stream: equal values once converted, both ways.
    EXPECT_TRUE(torch::equal(q->weight, conv_transpose_weight_from_torch(fp->weight, 6, groups)));
    EXPECT_TRUE(torch::equal(conv_transpose_weight_to_torch(q->weight, 4, groups), fp->weight));
    EXPECT_TRUE(torch::equal(q->bias, fp->bias));
    const torch::Tensor x = torch::randn({2, 4, 5, 7});
    const torch::Tensor y = q->forward(x);
    EXPECT_EQ(y.sizes(), torch::IntArrayRef({2, 6, 10, 14}));
    EXPECT_TRUE(torch::equal(y, fp->forward(x))) << "groups " << groups;
  }
}

TEST(QConvTranspose2d, LayoutIsOutputChannelFirst) {
  // Element (o, i) of the layer's weight is torch's (g * in/g + i, o - g * out/g) for o's group g.
  const int64_t in = 4, out = 6, groups = 2;
  const torch::Tensor w = torch::arange(out * (in / groups) * 2 * 1).view({out, in / groups, 2, 1});
  const torch::Tensor t = conv_transpose_weight_to_torch(w, in, groups);
  ASSERT_EQ(t.sizes(), torch::IntArrayRef({in, out / groups, 2, 1}));
  for (int64_t o = 0; o < out; ++o) {
    const int64_t g = o / (out / groups);
    for (int64_t i = 0; i < in / groups; ++i) {
      EXPECT_TRUE(torch::equal(w[o][i], t[g * (in / groups) + i][o - g * (out / groups)]))
          << o << " " << i;
    }
  }
  EXPECT_TRUE(torch::equal(conv_transpose_weight_from_torch(t, out, groups), w));
}

TEST(QConvTranspose2d, QuantizedForwardIsConvTransposeOfTheQuantizedOperands) {
  torch::manual_seed(52);
  QConvTranspose2d q(QConvTranspose2dOptions(3, 4, {3, 2})
                         .stride({2, 1})
                         .padding({1, 0})
                         .weight_quant("lsq:bits=4,per_channel=1")
                         .bias_quant("lsq:bits=8")
                         .input_quant("lsq:bits=4,signed=1")
                         .output_quant("lsq:bits=3,signed=1"));
  const torch::Tensor x = torch::randn({2, 3, 5, 5});
  const torch::Tensor y = q->forward(x);
  const torch::Tensor wq = q->weight_quant()->forward(q->weight);
  EXPECT_FALSE(torch::equal(wq, q->weight));
  const torch::Tensor expected = q->output_quant()->forward(torch::conv_transpose2d(
      q->input_quant()->forward(x), conv_transpose_weight_to_torch(wq, 3, 1),
      q->bias_quant()->forward(q->bias), {2, 1}, {1, 0}));
  EXPECT_TRUE(torch::equal(y, expected));
  // Per-channel weight scales run along the output channels (dimension 0).
  const quant::IntegerForm form = q->weight_quant()->integer_form(q->weight);
  EXPECT_EQ(form.axis, 0);
  EXPECT_EQ(form.scale.numel(), 4);
}

TEST(QConvTranspose2d, ScalingRowsOfDimensionZeroScalesThatOutputChannel) {
  // What batch-norm folding does to a layer before a batch norm: weight rows and bias times a
  // per-output-channel gain must scale exactly those output channels.
  torch::manual_seed(53);
  QConvTranspose2d q(QConvTranspose2dOptions(4, 6, 3).stride(2).groups(2));
  const torch::Tensor x = torch::randn({2, 4, 4, 4});
  const torch::Tensor before = q->forward(x);
  const torch::Tensor gain = torch::rand({6}) + 0.5;
  {
    torch::NoGradGuard no_grad;
    q->weight.mul_(gain.view({-1, 1, 1, 1}));
    q->bias.mul_(gain);
  }
  EXPECT_TRUE(torch::allclose(q->forward(x), before * gain.view({1, -1, 1, 1}), 1e-5, 1e-6));
}

TEST(QConvTranspose2d, IsAQuantizedLayerLikeQConv2d) {
  QConvTranspose2d q(QConvTranspose2dOptions(2, 3, 2).bias(false));
  auto* layer = q.ptr()->as<QuantizedLayer>();
  ASSERT_TRUE(layer);
  EXPECT_STREQ(layer->kind(), "QConvTranspose2d");
  std::vector<std::string> roles;
  for (const SlotRole& s : layer->slot_roles()) roles.push_back(s.role);
  EXPECT_EQ(roles, (std::vector<std::string>{"weights", "biases", "inputs", "outputs"}));
  EXPECT_TRUE(layer->weight_tensor().is_same(q->weight));
  EXPECT_FALSE(layer->bias_tensor().defined());
  layer->set_quantizer(QuantSlot::kWeights, "uniform:bits=2");
  EXPECT_EQ(q->options.weight_quant(), "uniform:bits=2");
  EXPECT_TRUE(q->named_children().contains("weight_quant"));
  EXPECT_THROW(layer->set_quantizer(QuantSlot::kBiases, "uniform:bits=8"), std::invalid_argument);
  // Batch-norm folding gives it a bias.
  layer->add_bias(torch::ones({3}));
  EXPECT_TRUE(torch::equal(q->bias, torch::ones({3})));
  EXPECT_THROW(layer->add_bias(torch::ones({3})), std::logic_error);
  // A clone rebuilds its quantizers from the recorded SPECs.
  auto copy = std::dynamic_pointer_cast<QConvTranspose2dImpl>(q->clone());
  ASSERT_TRUE(copy && copy->weight_quant());
  EXPECT_EQ(copy->weight_quant()->bits(), 2);
  const torch::Tensor x = torch::randn({1, 2, 3, 3});
  EXPECT_TRUE(torch::equal(copy->forward(x), q->forward(x)));
}

TEST(QConvTranspose2d, FloatStateLoadsByName) {
  torch::manual_seed(54);
  QConvTranspose2d fp(QConvTranspose2dOptions(3, 2, 3).stride(2));
  QConvTranspose2d q(QConvTranspose2dOptions(3, 2, 3).stride(2).weight_quant("lsq:bits=4"));
  {
    torch::NoGradGuard no_grad;
    auto params = q->named_parameters();
    for (const auto& item : fp->named_parameters()) params[item.key()].copy_(item.value());
  }
  const torch::Tensor x = torch::randn({1, 3, 4, 4});
  EXPECT_FALSE(torch::equal(q->forward(x), fp->forward(x)));
  q->set_weight_quant("");
  EXPECT_TRUE(torch::equal(q->forward(x), fp->forward(x)));
}

TEST(QConvTranspose2d, OutputSizeChoosesTheOutputPadding) {
  torch::manual_seed(55);
  QConvTranspose2d q(QConvTranspose2dOptions(2, 2, 3).stride(2).padding(1));
  const torch::Tensor x = torch::randn({1, 2, 4, 5});
  EXPECT_EQ(q->forward(x).sizes(), torch::IntArrayRef({1, 2, 7, 9}));
  const torch::Tensor y = q->forward_to_size(x, {8, 9});
  EXPECT_EQ(y.sizes(), torch::IntArrayRef({1, 2, 8, 9}));
  EXPECT_TRUE(
      torch::equal(y, torch::conv_transpose2d(x, conv_transpose_weight_to_torch(q->weight, 2, 1),
                                              q->bias, {2, 2}, {1, 1}, /*output_padding=*/{1, 0})));
  EXPECT_THROW(q->forward_to_size(x, {10, 9}), std::invalid_argument);
  EXPECT_THROW(q->forward_to_size(x, {6, 9}), std::invalid_argument);
}

TEST(QConvTranspose2d, BadOptionsAreErrors) {
  EXPECT_THROW(QConvTranspose2d(QConvTranspose2dOptions(4, 3, 3).groups(2)), std::invalid_argument);
  try {
    QConvTranspose2d(QConvTranspose2dOptions(2, 2, 3).stride(2).output_padding(2));
    FAIL() << "expected an error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("output_padding 2"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace lowbit::nn
