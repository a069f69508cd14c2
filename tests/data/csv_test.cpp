#include "lowbit/data/files/csv.h"

#include <gtest/gtest.h>

#include "data/test_files.h"
#include "lowbit/util/atomic_file.h"

namespace lowbit::data {
namespace {

using testing::TempDir;

std::string error_of(const std::string& path, const CsvOptions& options) {
  return testing::file_error_of([&] { read_csv(path, options); });
}

TEST(Csv, ReadsChosenColumnsAndLabels) {
  TempDir dir("csv");
  testing::write_bytes(dir.file("t.csv"), "a, b ,label,c\r\n1,2,0,3\r\n\n-4.5, 5e1 ,2,6\r\n");
  CsvOptions options;
  options.label_column = "label";
  Dataset all = read_csv(dir.file("t.csv"), options);
  all.check();
  EXPECT_TRUE(torch::equal(all.inputs,
                           torch::tensor({1.0f, 2.0f, 3.0f, -4.5f, 50.0f, 6.0f}).reshape({2, 3})));
  EXPECT_TRUE(torch::equal(all.targets, torch::tensor({0, 2}, torch::kInt64)));
  EXPECT_EQ(all.num_classes, 3);
  options.feature_columns = {"c", "a"};
  options.integer_labels = false;
  const Dataset some = read_csv(dir.file("t.csv"), options);
  EXPECT_TRUE(torch::equal(some.inputs, torch::tensor({3.0f, 1.0f, 6.0f, -4.5f}).reshape({2, 2})));
  EXPECT_EQ(some.targets.scalar_type(), torch::kFloat32);
  EXPECT_EQ(some.num_classes, 0);
}

TEST(Csv, BadCellsNameFileLineAndColumn) {
  TempDir dir("csv_bad");
  CsvOptions options;
  options.label_column = "y";
  testing::write_bytes(dir.file("bad.csv"), "x,y\n1,0\n2x,1\n");
  std::string message = error_of(dir.file("bad.csv"), options);
  EXPECT_NE(message.find(dir.file("bad.csv") + ":3: column 'x'"), std::string::npos) << message;
  testing::write_bytes(dir.file("empty_cell.csv"), "x,y\n,0\n");
  message = error_of(dir.file("empty_cell.csv"), options);
  EXPECT_NE(message.find(":2: column 'x': empty cell"), std::string::npos) << message;
  testing::write_bytes(dir.file("frac.csv"), "x,y\n1,0.5\n");
  message = error_of(dir.file("frac.csv"), options);
  EXPECT_NE(message.find(":2: column 'y'"), std::string::npos) << message;
  testing::write_bytes(dir.file("nan.csv"), "x,y\nnan,1\n");
  EXPECT_NE(error_of(dir.file("nan.csv"), options).find("not a finite number"), std::string::npos);
  testing::write_bytes(dir.file("ragged.csv"), "x,y\n1,0\n1,0,3\n");
  message = error_of(dir.file("ragged.csv"), options);
  EXPECT_NE(message.find(":3: 3 cells (expected 2"), std::string::npos) << message;
  options.feature_columns = {"z"};
  message = error_of(dir.file("bad.csv"), options);
  EXPECT_NE(message.find("no column named 'z'"), std::string::npos) << message;
  testing::write_bytes(dir.file("empty.csv"), "\n");
  EXPECT_NE(error_of(dir.file("empty.csv"), options).find("header"), std::string::npos);
  EXPECT_NE(error_of(dir.file("missing.csv"), options).find(dir.file("missing.csv")),
            std::string::npos);
}

TEST(Csv, ClassIdsAreBounded) {
  TempDir dir("csv_classes");
  CsvOptions options;
  options.label_column = "y";
  // 1e12 used to size a class table (bad_alloc); 9.3e18 overflowed the cast to int64.
  for (const std::string label : {"1e12", "9.3e18", "65536"}) {
    testing::write_bytes(dir.file("big.csv"), "x,y\n1,0\n2," + label + "\n");
    const std::string message = error_of(dir.file("big.csv"), options);
    EXPECT_NE(message.find(dir.file("big.csv") + ":3: column 'y'"), std::string::npos) << message;
    EXPECT_NE(message.find("0..65535"), std::string::npos) << message;
  }
  testing::write_bytes(dir.file("top.csv"), "x,y\n1,65535\n");
  EXPECT_EQ(read_csv(dir.file("top.csv"), options).num_classes, 65536);
}

TEST(Csv, HeaderWithoutRowsIsAnError) {
  TempDir dir("csv_rows");
  CsvOptions options;
  options.label_column = "y";
  testing::write_bytes(dir.file("head.csv"), "x,y\n\n");
  const std::string message = error_of(dir.file("head.csv"), options);
  EXPECT_NE(message.find(dir.file("head.csv")), std::string::npos) << message;
  EXPECT_NE(message.find("no data rows"), std::string::npos) << message;
}

TEST(Csv, ValuesBeyondFloat32AreRejectedWithTheirLine) {
  TempDir dir("csv_range");
  CsvOptions options;
  options.label_column = "y";
  options.integer_labels = false;
  // 1e39 is a finite double but infinite as float32.
  testing::write_bytes(dir.file("wide.csv"), "x,y\n1,0\n1e39,1\n");
  std::string message = error_of(dir.file("wide.csv"), options);
  EXPECT_NE(message.find(":3: column 'x'"), std::string::npos) << message;
  EXPECT_NE(message.find("float32 range"), std::string::npos) << message;
  testing::write_bytes(dir.file("wide_label.csv"), "x,y\n1,-4e38\n");
  message = error_of(dir.file("wide_label.csv"), options);
  EXPECT_NE(message.find(":2: column 'y'"), std::string::npos) << message;
  testing::write_bytes(dir.file("edge.csv"), "x,y\n3.4e38,-3.4e38\n");
  const Dataset edge = read_csv(dir.file("edge.csv"), options);
  EXPECT_TRUE(torch::isfinite(edge.inputs).all().item<bool>());
}

TEST(Csv, ErrorsQuoteAHugeCellShortly) {
  TempDir dir("csv_echo");
  CsvOptions options;
  options.label_column = "y";
  // A 5 MB cell used to be echoed whole into the message.
  testing::write_bytes(dir.file("fat.csv"), "x,y\n" + std::string(5000000, '7') + "z,0\n");
  std::string message = error_of(dir.file("fat.csv"), options);
  EXPECT_NE(message.find(":2: column 'x'"), std::string::npos) << message.substr(0, 300);
  EXPECT_NE(message.find("(5000001 bytes)"), std::string::npos) << message.substr(0, 300);
  EXPECT_LT(message.size(), 400u);
  // The same for a huge column name in the header.
  testing::write_bytes(dir.file("fat_name.csv"), std::string(1000000, 'n') + ",y\n1x,0\n");
  message = error_of(dir.file("fat_name.csv"), options);
  EXPECT_NE(message.find("not a finite number"), std::string::npos) << message.substr(0, 300);
  EXPECT_LT(message.size(), 400u);
}

TEST(Csv, AFolderIsRefusedByName) {
  TempDir dir("csv_folder");
  CsvOptions options;
  options.label_column = "y";
  const std::string message = error_of(dir.path(), options);
  EXPECT_NE(message.find(dir.path() + ": is a folder"), std::string::npos) << message;
}

}  // namespace
}  // namespace lowbit::data
