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

}  // namespace
}  // namespace lowbit::train
