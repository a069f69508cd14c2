#include "lowbit/train/report/csv_log.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <stdexcept>

#include "lowbit/util/atomic_file.h"

namespace lowbit::train {
namespace {

class CsvLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = ::testing::TempDir() + "lowbit_csv_log_test_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".csv";
    std::remove(path_.c_str());
  }
  void TearDown() override { std::remove(path_.c_str()); }
  std::string path_;
};

TEST_F(CsvLogTest, HeaderOnceThenFlushedRows) {
  {
    CsvLog log(path_, {"epoch", "loss", "note"});
    log.append({"1", format_number(0.123456789), "plain"});
    // Flushed: readable before the log is closed.
    EXPECT_EQ(util::read_file(path_), "epoch,loss,note\n1,0.123457,plain\n");
    log.append({"2", format_number(1e-7), "a, \"quoted\" one"});
  }
  {
    CsvLog resumed(path_, {"epoch", "loss", "note"});
    resumed.append({"3", format_number(2.0), ""});
  }
  EXPECT_EQ(util::read_file(path_),
            "epoch,loss,note\n1,0.123457,plain\n2,1e-07,\"a, \"\"quoted\"\" one\"\n3,2,\n");
}

TEST_F(CsvLogTest, RejectsMismatchedHeaderAndRows) {
  { CsvLog log(path_, {"epoch", "loss"}); }
  EXPECT_THROW(CsvLog(path_, {"epoch", "acc"}), std::runtime_error);
  CsvLog log(path_, {"epoch", "loss"});
  EXPECT_THROW(log.append({"1"}), std::invalid_argument);
  EXPECT_THROW(CsvLog("/nonexistent-dir/x.csv", {"a"}), std::runtime_error);
}

TEST(CsvEscape, QuotesOnlyWhenNeeded) {
  EXPECT_EQ(csv_escape("abc"), "abc");
  EXPECT_EQ(csv_escape("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_escape("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_escape("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(format_number(0.5), "0.5");
  EXPECT_EQ(format_number(91.456789, 4), "91.46");
}

}  // namespace
}  // namespace lowbit::train
