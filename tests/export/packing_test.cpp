#include "lowbit/export/packing.h"

#include <gtest/gtest.h>

#include <random>

#include "export/random_models.h"
#include "lowbit_runtime.h"

namespace lowbit::exporter {
namespace {

TEST(PackWeights, DocumentedExamples) {
  EXPECT_EQ(pack_weights(WeightFormat::kInt4, {1, -2, 7}, 1, 3),
            (std::vector<uint8_t>{0xE1, 0x07}));
  EXPECT_EQ(pack_weights(WeightFormat::kBinary, {1, -1, -1, 1, 1}, 1, 5),
            (std::vector<uint8_t>{0x19}));
  EXPECT_EQ(pack_weights(WeightFormat::kSym2, {-3, 3, 1}, 1, 3), (std::vector<uint8_t>{0x2C}));
}

TEST(PackWeights, TheRuntimeUnpacksEveryFormatBackToTheCodes) {
  std::mt19937 rng(11);
  for (WeightFormat format : kAllWeightFormats) {
    for (int64_t rows : {1, 3, 4}) {
      for (int64_t length : {1, 2, 3, 5, 7, 8, 15, 16, 17, 31, 33}) {
        const std::vector<int8_t> codes = testing::random_codes(format, rows * length, rng);
        const std::vector<uint8_t> packed = pack_weights(format, codes, rows, length);
        // Rows padded to whole bytes: ceil(length * bits / 8) each.
        ASSERT_EQ(static_cast<int64_t>(packed.size()),
                  rows * ((length * format_bits(format) + 7) / 8));
        ASSERT_EQ(packed_size(format, rows, length), static_cast<int64_t>(packed.size()));
        std::vector<int8_t> back(codes.size());
        ASSERT_EQ(lowbit_unpack_weights(static_cast<lowbit_format_t>(format), packed.data(),
                                        packed.size(), static_cast<size_t>(rows),
                                        static_cast<size_t>(length), back.data()),
                  LOWBIT_OK);
        ASSERT_EQ(back, codes) << format_name(format) << " " << rows << "x" << length;
      }
    }
  }
}

TEST(WeightFormat, FactsAsDocumentedInRuntimeMd) {
  struct Expected {
    WeightFormat format;
    const char* name;
    int bits, min, max;
    bool odd;
  };
  const Expected table[] = {{WeightFormat::kInt8, "int8", 8, -128, 127, false},
                            {WeightFormat::kInt4, "int4", 4, -8, 7, false},
                            {WeightFormat::kInt2, "int2", 2, -2, 1, false},
                            {WeightFormat::kBinary, "binary", 1, -1, 1, true},
                            {WeightFormat::kSym2, "sym2", 2, -3, 3, true},
                            {WeightFormat::kSym4, "sym4", 4, -15, 15, true}};
  for (const Expected& e : table) {
    EXPECT_EQ(std::string(format_name(e.format)), e.name);
    EXPECT_EQ(format_bits(e.format), e.bits) << e.name;
    EXPECT_EQ(format_code_min(e.format), e.min) << e.name;
    EXPECT_EQ(format_code_max(e.format), e.max) << e.name;
    EXPECT_EQ(format_is_odd_grid(e.format), e.odd) << e.name;
    EXPECT_EQ(format_for_bits(e.bits, e.odd, "x"), e.format) << e.name;
    for (int code = e.min - 2; code <= e.max + 2; ++code) {
      const bool in_range = code >= e.min && code <= e.max;
      EXPECT_EQ(format_has_code(e.format, code), in_range && (!e.odd || code % 2 != 0))
          << e.name << " " << code;
    }
  }
  EXPECT_THROW(format_bits(static_cast<WeightFormat>(6)), std::invalid_argument);
  EXPECT_THROW(format_has_code(static_cast<WeightFormat>(-1), 0), std::invalid_argument);
}

TEST(PackWeights, UnrepresentableCodeOrWrongCountNamesTheLayer) {
  try {
    pack_weights(WeightFormat::kSym2, {1, 2, 3}, 1, 3, "fc_even");
    FAIL();
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find("fc_even"), std::string::npos);
    EXPECT_NE(std::string(error.what()).find("sym2"), std::string::npos);
  }
  EXPECT_THROW(pack_weights(WeightFormat::kInt4, {8}, 1, 1, "x"), std::invalid_argument);
  EXPECT_THROW(pack_weights(WeightFormat::kInt4, {1, 2}, 1, 3, "x"), std::invalid_argument);
}

}  // namespace
}  // namespace lowbit::exporter
