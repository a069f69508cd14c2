#include "lowbit/data/files/cifar.h"

#include <gtest/gtest.h>

#include "data/test_files.h"
#include "lowbit/util/atomic_file.h"

namespace lowbit::data {
namespace {

using testing::file_error_of;
using testing::TempDir;

// Record i: label i % 10, channel c pixel k = (i + c + k) % 256.
std::string records(int first, int count) {
  std::string s;
  for (int i = first; i < first + count; ++i) {
    s.push_back(static_cast<char>(i % 10));
    for (int c = 0; c < 3; ++c) {
      for (int k = 0; k < 1024; ++k) s.push_back(static_cast<char>((i + c + k) % 256));
    }
  }
  return s;
}

TEST(Cifar, ReadsRecordsInChwOrder) {
  TempDir dir("cifar");
  testing::write_bytes(dir.file("data_batch_1.bin"), records(0, 3));
  const Dataset d = read_cifar10_batch(dir.file("data_batch_1.bin"));
  d.check();
  ASSERT_EQ(d.inputs.sizes(), (std::vector<int64_t>{3, 3, 32, 32}));
  EXPECT_EQ(d.targets[2].item<int64_t>(), 2);
  // Record 2, channel 1, row 3, column 5: k = 3 * 32 + 5.
  EXPECT_FLOAT_EQ(d.inputs[2][1][3][5].item<float>(), ((2 + 1 + 101) % 256) / 255.0f);
}

TEST(Cifar, LoadsTrainBatchesInOrderAndTestBatch) {
  TempDir dir("cifar_set");
  testing::write_bytes(dir.file("data_batch_1.bin"), records(0, 2));
  testing::write_gzip(dir.file("data_batch_2.bin"), records(2, 3));
  testing::write_bytes(dir.file("test_batch.bin"), records(7, 1));
  const Dataset train = load_cifar10(dir.path(), "train");
  ASSERT_EQ(train.size(), 5);
  EXPECT_TRUE(torch::equal(train.targets, torch::tensor({0, 1, 2, 3, 4}, torch::kInt64)));
  const Dataset test = load_cifar10(dir.path(), "test");
  ASSERT_EQ(test.size(), 1);
  EXPECT_EQ(test.targets[0].item<int64_t>(), 7);
}

TEST(Cifar, TruncatedBadLabelEmptyAndMissingNameTheFile) {
  TempDir dir("cifar_bad");
  std::string cut = records(0, 2);
  cut.resize(cut.size() - 100);
  testing::write_bytes(dir.file("cut.bin"), cut);
  std::string message = file_error_of([&] { read_cifar10_batch(dir.file("cut.bin")); });
  EXPECT_NE(message.find(dir.file("cut.bin")), std::string::npos) << message;
  EXPECT_NE(message.find("truncated record 1"), std::string::npos) << message;
  std::string bad = records(0, 1);
  bad[0] = 12;
  testing::write_bytes(dir.file("bad.bin"), bad);
  message = file_error_of([&] { read_cifar10_batch(dir.file("bad.bin")); });
  EXPECT_NE(message.find("label 12"), std::string::npos) << message;
  testing::write_bytes(dir.file("empty.bin"), "");
  message = file_error_of([&] { read_cifar10_batch(dir.file("empty.bin")); });
  EXPECT_NE(message.find("empty"), std::string::npos) << message;
  message = file_error_of([&] { load_cifar10(dir.path(), "test"); });
  EXPECT_NE(message.find(dir.file("test_batch.bin")), std::string::npos) << message;
}

}  // namespace
}  // namespace lowbit::data
