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

TEST(PackWeights, EqualsTheRuntimePackerByteForByte) {
  std::mt19937 rng(11);
  for (WeightFormat format : kAllWeightFormats) {
    for (int64_t rows : {1, 3, 4}) {
      for (int64_t length : {1, 2, 3, 5, 7, 8, 15, 16, 17, 31, 33}) {
        const std::vector<int8_t> codes = testing::random_codes(format, rows * length, rng);
        const std::vector<uint8_t> ours = pack_weights(format, codes, rows, length);
        const auto runtime_format = static_cast<lowbit_format_t>(format);
        const size_t size = lowbit_packed_size(runtime_format, static_cast<size_t>(rows),
                                               static_cast<size_t>(length));
        ASSERT_EQ(static_cast<int64_t>(size), packed_size(format, rows, length));
        ASSERT_EQ(static_cast<size_t>(packed_row_bytes(format, length)),
                  lowbit_packed_row_bytes(runtime_format, static_cast<size_t>(length)));
        std::vector<uint8_t> theirs(size, 0xAA);
        ASSERT_EQ(lowbit_pack_weights(runtime_format, codes.data(), static_cast<size_t>(rows),
                                      static_cast<size_t>(length), theirs.data(), size),
                  LOWBIT_OK);
        ASSERT_EQ(ours, theirs) << format_name(format) << " " << rows << "x" << length;
        // And the runtime unpacks ours back to the codes.
        std::vector<int8_t> back(codes.size());
        ASSERT_EQ(lowbit_unpack_weights(runtime_format, ours.data(), ours.size(),
                                        static_cast<size_t>(rows), static_cast<size_t>(length),
                                        back.data()),
                  LOWBIT_OK);
        ASSERT_EQ(back, codes);
      }
    }
  }
}

TEST(PackWeights, FormatTraitsMatchTheRuntimeTable) {
  for (WeightFormat format : kAllWeightFormats) {
    const lowbit_format_traits_t* traits =
        lowbit_format_traits(static_cast<lowbit_format_t>(format));
    ASSERT_NE(traits, nullptr);
    EXPECT_EQ(std::string(traits->name), format_name(format));
    EXPECT_EQ(traits->bits, format_bits(format));
    EXPECT_EQ(traits->code_min, format_code_min(format));
    EXPECT_EQ(traits->code_max, format_code_max(format));
    for (int code = -130; code <= 130; ++code) {
      EXPECT_EQ(lowbit_format_has_code(static_cast<lowbit_format_t>(format), code) != 0,
                format_has_code(format, code))
          << format_name(format) << " " << code;
    }
  }
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
