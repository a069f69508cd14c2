#include "lowbit/export/integer_model.h"

#include <gtest/gtest.h>

#include "export/random_models.h"

namespace lowbit::exporter {
namespace {

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const std::invalid_argument& error) {
    return error.what();
  }
  return "";
}

TEST(FormatForBits, MapsBitWidthsAndNamesTheLayerOtherwise) {
  EXPECT_EQ(format_for_bits(8, false, "a"), WeightFormat::kInt8);
  EXPECT_EQ(format_for_bits(4, false, "a"), WeightFormat::kInt4);
  EXPECT_EQ(format_for_bits(2, false, "a"), WeightFormat::kInt2);
  EXPECT_EQ(format_for_bits(1, true, "a"), WeightFormat::kBinary);
  EXPECT_EQ(format_for_bits(2, true, "a"), WeightFormat::kSym2);
  EXPECT_EQ(format_for_bits(4, true, "a"), WeightFormat::kSym4);
  for (auto [bits, odd] : {std::pair{3, false}, {1, false}, {8, true}, {16, false}}) {
    const std::string message = error_of([&] { format_for_bits(bits, odd, "encoder.fc2"); });
    EXPECT_NE(message.find("encoder.fc2"), std::string::npos) << message;
    EXPECT_NE(message.find(std::to_string(bits)), std::string::npos) << message;
  }
}

TEST(QuantizeInput, RoundsHalfAwayAndClamps) {
  EXPECT_EQ(quantize_input(0.25, 0.1, 0), 3);    // 2.5 -> 3
  EXPECT_EQ(quantize_input(-0.25, 0.1, 0), -3);  // -2.5 -> -3
  EXPECT_EQ(quantize_input(0.0, 0.1, -7), -7);
  EXPECT_EQ(quantize_input(100.0, 0.1, 0), 127);
  EXPECT_EQ(quantize_input(-100.0, 0.1, 0), -128);
  EXPECT_DOUBLE_EQ(dequantize_output(10, 0.5, 4), 3.0);
}

TEST(Validate, ShapesOfTheTestModels) {
  const std::vector<Shape> cnn = validate(testing::random_cnn(WeightFormat::kInt4, 1));
  ASSERT_EQ(cnn.size(), 6u);
  EXPECT_EQ(cnn[0], (Shape{6, 9, 11}));
  EXPECT_EQ(cnn[2], (Shape{8, 4, 5}));
  EXPECT_EQ(cnn[3], (Shape{8, 4, 5}));
  EXPECT_EQ(cnn[4], (Shape{160, 1, 1}));
  EXPECT_EQ(cnn[5], (Shape{5, 1, 1}));
  const std::vector<Shape> two = validate(testing::random_two_branch(WeightFormat::kSym2, 1));
  EXPECT_EQ(two[1], (Shape{14, 1, 1}));
  EXPECT_EQ(two[4], (Shape{64, 1, 1}));
  EXPECT_EQ(two[6], (Shape{1, 1, 1}));
}

TEST(Validate, ShapeMismatchNamesBothLayers) {
  IntegerModel model = testing::random_mlp(WeightFormat::kInt8, 3);
  auto& fc = std::get<FullyConnected>(model.layers[2].op);
  fc.in_features = 18;  // fc1 produces 31
  fc.weights.resize(static_cast<size_t>(18 * fc.out_features), 0);
  const std::string message = error_of([&] { validate(model); });
  EXPECT_NE(message.find("'fc1'"), std::string::npos) << message;
  EXPECT_NE(message.find("'fc2'"), std::string::npos) << message;
  EXPECT_NE(message.find("31x1x1"), std::string::npos) << message;
  EXPECT_NE(message.find("18"), std::string::npos) << message;

  IntegerModel cnn = testing::random_cnn(WeightFormat::kInt8, 3);
  std::get<Pool>(cnn.layers[3].op).in_width = 6;
  const std::string pool_message = error_of([&] { validate(cnn); });
  EXPECT_NE(pool_message.find("'max_pool'"), std::string::npos) << pool_message;
  EXPECT_NE(pool_message.find("'avg_pool'"), std::string::npos) << pool_message;
}

TEST(Validate, BadCodesAndParametersNameTheLayer) {
  IntegerModel model = testing::random_mlp(WeightFormat::kSym4, 3);
  std::get<FullyConnected>(model.layers[1].op).weights[5] = 2;  // even: not a sym4 code
  std::string message = error_of([&] { validate(model); });
  EXPECT_NE(message.find("'fc1'"), std::string::npos) << message;
  EXPECT_NE(message.find("sym4"), std::string::npos) << message;

  model = testing::random_mlp(WeightFormat::kInt4, 3);
  std::get<FullyConnected>(model.layers[3].op).format = static_cast<WeightFormat>(9);
  message = error_of([&] { validate(model); });
  EXPECT_NE(message.find("'fc3'"), std::string::npos) << message;

  model = testing::random_mlp(WeightFormat::kInt4, 3);
  std::get<FullyConnected>(model.layers[0].op).requant.shift[0] = 31;
  message = error_of([&] { validate(model); });
  EXPECT_NE(message.find("'fc0'"), std::string::npos) << message;

  model = testing::random_mlp(WeightFormat::kInt4, 3);
  model.layers[4].output_zero_point = 128;
  message = error_of([&] { validate(model); });
  EXPECT_NE(message.find("'fc4'"), std::string::npos) << message;

  model = testing::random_mlp(WeightFormat::kInt4, 3);
  model.layers[5].inputs = {5};  // itself: not an earlier layer
  message = error_of([&] { validate(model); });
  EXPECT_NE(message.find("'fc5'"), std::string::npos) << message;

  IntegerModel cnn = testing::random_cnn(WeightFormat::kInt8, 3);
  cnn.layers[2].output_zero_point += 1;  // max pool must keep its input's quantization
  message = error_of([&] { validate(cnn); });
  EXPECT_NE(message.find("'max_pool'"), std::string::npos) << message;
}

TEST(Validate, AddNeedsTwoInputsOfOneShape) {
  IntegerModel model = testing::random_residual(WeightFormat::kInt8, 3);
  EXPECT_EQ(validate(model).at(4), (Shape{8, 4, 5}));
  model.layers[4].inputs = {2, 0};  // 8x4x5 + the stem's 6x7x9
  try {
    validate(model);
    FAIL() << "expected a shape mismatch";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("'stem'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("'b1.add'"), std::string::npos) << e.what();
  }
  model.layers[4].inputs = {2};
  EXPECT_THROW(validate(model), std::invalid_argument);
}

}  // namespace
}  // namespace lowbit::exporter
