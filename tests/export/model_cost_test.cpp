#include "lowbit/export/model_cost.h"

#include <gtest/gtest.h>

#include "export/random_models.h"
#include "lowbit/export/memory_plan.h"

namespace lowbit::exporter {
namespace {

// Input 3x8x8 -> conv 3x3 3->4 pad 1 int4 per-channel -> max pool 2x2/2 -> flatten ->
// FC 64 -> 10 binary per-layer.
IntegerModel hand_model() {
  std::mt19937 rng(1);
  IntegerModel model;
  model.name = "hand";
  model.input_shape = {3, 8, 8};
  Conv2d conv;
  conv.in_channels = 3;
  conv.in_height = conv.in_width = 8;
  conv.out_channels = 4;
  conv.kernel_h = conv.kernel_w = 3;
  conv.pad_top = conv.pad_bottom = conv.pad_left = conv.pad_right = 1;
  conv.format = WeightFormat::kInt4;
  conv.weights = testing::random_codes(WeightFormat::kInt4, 4 * 27, rng);
  conv.bias = {1, 2, 3, 4};
  conv.requant = {{1 << 30, 1 << 30, 1 << 30, 1 << 30}, {-3, -3, -3, -3}, -128, 127};
  model.layers.push_back(Layer{"conv", {kModelInput}, conv, 1.0, 0});
  Pool pool;
  pool.channels = 4;
  pool.in_height = pool.in_width = 8;
  pool.kernel_h = pool.kernel_w = 2;
  pool.stride_h = pool.stride_w = 2;
  model.layers.push_back(Layer{"pool", {0}, pool, 1.0, 0});
  model.layers.push_back(Layer{"flatten", {1}, Flatten{}, 1.0, 0});
  FullyConnected fc;
  fc.in_features = 64;
  fc.out_features = 10;
  fc.format = WeightFormat::kBinary;
  fc.weights = testing::random_codes(WeightFormat::kBinary, 640, rng);
  fc.bias.assign(10, 0);
  fc.requant = {{1 << 30}, {-4}, -128, 127};
  model.layers.push_back(Layer{"fc", {2}, fc, 1.0, 0});
  return model;
}

TEST(ModelCost, HandCheckedModel) {
  const ModelCost cost = model_cost(hand_model());
  ASSERT_EQ(cost.layers.size(), 4u);
  // conv: rows of 27 int4 codes = 14 bytes, x4 = 56; 4 biases 16; 4 (multiplier, shift) 32.
  EXPECT_EQ(cost.layers[0].weight_bytes, 56);
  EXPECT_EQ(cost.layers[0].bias_bytes, 16);
  EXPECT_EQ(cost.layers[0].requant_bytes, 32);
  EXPECT_EQ(cost.layers[0].macs, 4 * 8 * 8 * 27);
  EXPECT_EQ(cost.layers[0].output_bytes, 0);  // fused with the max pool: never stored as int8
  EXPECT_EQ(cost.layers[1].flash_bytes(), 0);
  EXPECT_EQ(cost.layers[1].macs, 0);
  EXPECT_EQ(cost.layers[1].output_bytes, 64);
  EXPECT_EQ(cost.layers[2].output_bytes, 0);  // a view
  // fc: 10 rows of 64 bits = 80 bytes; 10 biases 40; one (multiplier, shift) 8.
  EXPECT_EQ(cost.layers[3].weight_bytes, 80);
  EXPECT_EQ(cost.layers[3].flash_bytes(), 128);
  EXPECT_EQ(cost.layers[3].macs, 640);
  EXPECT_EQ(cost.flash_bytes, 104 + 128);
  EXPECT_EQ(cost.macs, 6912 + 640);
  // conv + max pool run as one call: only the pool output (64) takes arena memory; fc writes the
  // caller's output.
  EXPECT_EQ(cost.arena_bytes, 64);
  // Operator scratch, the larger of (each + 15 bytes of alignment slack):
  //   conv + pool: 3 padded 10x10 int16 planes (600) + 27 taps of 8 bytes (216) + one channel's
  //   8x8 int32 sums, a row of 8 int32 maxima and a row of 4 pooled int32 sums (304) = 1120;
  //   fc: 64 binary inputs as 16 lanes of 4 int16, each padded to 8 = 256.
  EXPECT_EQ(cost.kernel_scratch_bytes, 1120 + 15);
  EXPECT_EQ(cost.scratch_bytes, 64 + 1135);
  EXPECT_EQ(cost.input_bytes, 192);
  EXPECT_EQ(cost.output_bytes, 10);
}

TEST(ModelCost, AveragePoolIsNotFused) {
  IntegerModel model = hand_model();
  std::get<Pool>(model.layers[1].op).average = true;
  EXPECT_FALSE(fuses_with_next(model, 0));
  const ModelCost cost = model_cost(model);
  EXPECT_EQ(cost.layers[0].output_bytes, 256);
  // conv output 256 at 0, pool output 64 after it (conv is its input).
  EXPECT_EQ(cost.arena_bytes, 320);
  // conv alone: planes 600 + taps 216 + 15 slack.
  EXPECT_EQ(cost.kernel_scratch_bytes, 831);
  EXPECT_EQ(cost.scratch_bytes, 320 + 831);
}

TEST(MemoryPlan, ConvIsFusedOnlyWithAMaxPoolThatAloneReadsIt) {
  IntegerModel model = hand_model();
  EXPECT_TRUE(fuses_with_next(model, 0));
  EXPECT_FALSE(fuses_with_next(model, 1));  // a pool, not a conv
  EXPECT_FALSE(fuses_with_next(model, 3));  // the last layer
  // A second reader of the conv output (here the fc) needs the int8 output: no fusion.
  model.layers[3].inputs = {0};
  std::get<FullyConnected>(model.layers[3].op).in_features = 256;
  EXPECT_FALSE(fuses_with_next(model, 0));
  const MemoryPlan plan = plan_memory(hand_model(), validate(hand_model()));
  EXPECT_EQ(plan.fused_with_next, (std::vector<bool>{true, false, false, false}));
  EXPECT_EQ(plan.outputs[0].offset, -1);  // no buffer
  EXPECT_EQ(plan.outputs[1].kind, BufferKind::kArena);
  EXPECT_EQ(plan.outputs[1].offset, 0);
}

TEST(MemoryPlan, ChainPingPongsAndBranchesStayLive) {
  const IntegerModel mlp = testing::random_mlp(WeightFormat::kInt8, 1);
  const MemoryPlan chain = plan_memory(mlp, validate(mlp));
  // 33 -> 17 -> 31 -> 15 -> 7 -> 3 -> 1: each output goes to the lowest offset not holding its
  // input: 17 at 0, 31 at 17, 15 at 0, 7 at 15, 3 at 0, the last into the caller's output.
  EXPECT_EQ(chain.outputs[0].offset, 0);
  EXPECT_EQ(chain.outputs[1].offset, 17);
  EXPECT_EQ(chain.outputs[2].offset, 0);
  EXPECT_EQ(chain.outputs[3].offset, 15);
  EXPECT_EQ(chain.outputs[4].offset, 0);
  EXPECT_EQ(chain.outputs[5].kind, BufferKind::kModelOutput);
  EXPECT_EQ(chain.arena_bytes, 48);
  // The widest layer (33 int8 inputs, one lane padded to 48) as int16, plus 15 bytes of slack.
  EXPECT_EQ(chain.kernel_scratch_bytes, 48 * 2 + 15);

  const IntegerModel two = testing::random_two_branch(WeightFormat::kInt8, 1);
  const MemoryPlan branches = plan_memory(two, validate(two));
  EXPECT_EQ(branches.outputs[0].kind, BufferKind::kModelInput);
  EXPECT_EQ(branches.outputs[1].kind, BufferKind::kModelInput);
  EXPECT_EQ(branches.outputs[1].offset, 22);
  EXPECT_EQ(branches.outputs[2].offset, 0);   // x_fc 32
  EXPECT_EQ(branches.outputs[3].offset, 32);  // y_fc 32, x_fc still live until concat
  EXPECT_EQ(branches.outputs[4].offset, 64);  // concat 64 while both inputs live
  EXPECT_EQ(branches.outputs[5].offset, 0);   // fc1 16 after the branches died
  EXPECT_EQ(branches.arena_bytes, 128);
}

}  // namespace
}  // namespace lowbit::exporter
