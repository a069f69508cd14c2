#include "lowbit/train/report/results_table.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace lowbit::train {
namespace {

ResultsTable sample() {
  ResultsTable table({"config", "accuracy", "auc"});
  table.add_row({"fp32", "0.912", "0.95"});
  table.add_row({"4w0i ✓", "0.87", "0.931"});
  table.add_row({"a|b", "91.5%", ""});
  return table;
}

TEST(ResultsTable, TextAlignsNumbersRight) {
  EXPECT_EQ(sample().to_text(),
            "config  accuracy    auc\n"
            "------  --------  -----\n"
            "fp32       0.912   0.95\n"
            "4w0i ✓      0.87  0.931\n"
            "a|b        91.5%\n");
}

TEST(ResultsTable, Markdown) {
  EXPECT_EQ(sample().to_markdown(),
            "| config | accuracy |   auc |\n"
            "| ------ | -------: | ----: |\n"
            "| fp32   |    0.912 |  0.95 |\n"
            "| 4w0i ✓ |     0.87 | 0.931 |\n"
            "| a\\|b   |    91.5% |       |\n");
}

TEST(ResultsTable, RowSizeChecked) {
  ResultsTable table({"a", "b"});
  EXPECT_THROW(table.add_row({"1"}), std::invalid_argument);
  EXPECT_EQ(table.rows(), 0u);
  EXPECT_THROW(ResultsTable({}), std::invalid_argument);
}

TEST(BitWidthSizeTable, TheSeedsTable) {
  // Seed 003: ~1.2M parameters are 4.8 MB in FP32, 1.2 / 0.6 / 0.3 / 0.15 MB at 8 / 4 / 2 / 1 bits.
  EXPECT_EQ(bit_width_size_table(1200000).to_text(),
            "bits         bytes    MB  reduction\n"
            "---------  -------  ----  ---------\n"
            "32 (FP32)  4800000   4.8  1x\n"
            "8          1200000   1.2  4x\n"
            "4           600000   0.6  8x\n"
            "2           300000   0.3  16x\n"
            "1           150000  0.15  32x\n");
}

TEST(BitWidthSizeTable, PartialBytesRoundUp) {
  EXPECT_EQ(packed_bytes(51, 32), 204);
  EXPECT_EQ(packed_bytes(51, 4), 26);  // 204 bits
  EXPECT_EQ(packed_bytes(51, 1), 7);   // 51 bits
  EXPECT_EQ(packed_bytes(0, 8), 0);
  EXPECT_THROW(packed_bytes(1, 0), std::invalid_argument);
}

}  // namespace
}  // namespace lowbit::train
