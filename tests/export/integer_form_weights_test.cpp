#include "lowbit/export/lowering/integer_form_weights.h"

#include <gtest/gtest.h>
#include <torch/types.h>

namespace lowbit::exporter {
namespace {

quant::IntegerForm form_of(std::vector<int32_t> codes, int64_t rows, int bits, int64_t code_min,
                           int64_t code_max, std::vector<float> scales) {
  quant::IntegerForm form;
  const int64_t cols = static_cast<int64_t>(codes.size()) / rows;
  form.codes = torch::tensor(codes, torch::kInt32).reshape({rows, cols});
  form.scale = scales.size() == 1 ? torch::tensor(scales[0]) : torch::tensor(scales);
  form.zero_point = torch::zeros_like(form.scale, torch::kInt32);
  form.bits = bits;
  form.axis = scales.size() == 1 ? -1 : 0;
  form.code_min = code_min;
  form.code_max = code_max;
  return form;
}

TEST(WeightsFromIntegerForm, PicksTheFormatFromBitsAndGrid) {
  struct Case {
    int bits;
    int64_t lo, hi;
    std::vector<int32_t> codes;
    WeightFormat format;
  };
  const Case cases[] = {{8, -128, 127, {-128, 127, 0, 5}, WeightFormat::kInt8},
                        {4, -8, 7, {-8, 7, 0, 1}, WeightFormat::kInt4},
                        {4, -7, 7, {-7, 7, 0, 1}, WeightFormat::kInt4},
                        {2, -1, 1, {-1, 1, 0, 1}, WeightFormat::kInt2},
                        {1, -1, 1, {-1, 1, 1, -1}, WeightFormat::kBinary},
                        {2, -3, 3, {-3, 3, -1, 1}, WeightFormat::kSym2},
                        {4, -15, 15, {-15, 15, -1, 13}, WeightFormat::kSym4}};
  for (const Case& c : cases) {
    const LayerWeights w =
        weights_from_integer_form(form_of(c.codes, 2, c.bits, c.lo, c.hi, {0.5f, 0.25f}), 2, "fc");
    EXPECT_EQ(w.format, c.format) << c.bits << " " << c.lo << ".." << c.hi;
    EXPECT_EQ(w.codes, std::vector<int8_t>(c.codes.begin(), c.codes.end()));
    EXPECT_EQ(w.scales, (std::vector<double>{0.5, 0.25}));
  }
}

std::string error_of(const quant::IntegerForm& form, int64_t rows) {
  try {
    weights_from_integer_form(form, rows, "head.fc3");
  } catch (const std::invalid_argument& error) {
    return error.what();
  }
  return "";
}

TEST(WeightsFromIntegerForm, UnsupportedFormsNameTheLayer) {
  const quant::IntegerForm good = form_of({1, 2, 3, 4}, 2, 4, -8, 7, {0.5f});
  EXPECT_EQ(weights_from_integer_form(good, 2, "x").scales, std::vector<double>{0.5});

  quant::IntegerForm three_bits = form_of({1, 2, 3, 0}, 2, 3, -4, 3, {0.5f});
  quant::IntegerForm codebook = good;
  codebook.levels = torch::linspace(-1, 1, 16);
  quant::IntegerForm asymmetric = good;
  asymmetric.zero_point = torch::tensor(3, torch::kInt32);
  quant::IntegerForm even_sym2 = form_of({-3, 2, 1, 1}, 2, 2, -3, 3, {0.5f});
  quant::IntegerForm wrong_axis = form_of({1, 2, 3, 4}, 2, 4, -8, 7, {0.5f, 0.25f});
  wrong_axis.axis = 1;
  for (const quant::IntegerForm* form :
       {&three_bits, &codebook, &asymmetric, &even_sym2, &wrong_axis}) {
    const std::string message = error_of(*form, 2);
    EXPECT_NE(message.find("head.fc3"), std::string::npos) << message;
  }
  EXPECT_NE(error_of(three_bits, 2).find("3"), std::string::npos);
  EXPECT_NE(error_of(good, 3).find("expected 3"), std::string::npos);
}

}  // namespace
}  // namespace lowbit::exporter
