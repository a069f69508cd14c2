#include "lowbit/data/files/idx.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "data/test_files.h"
#include "lowbit/data/dataset.h"
#include "lowbit/util/atomic_file.h"

namespace lowbit::data {
namespace {

using testing::be32;
using testing::TempDir;

std::string idx_images(uint32_t n, uint32_t h, uint32_t w) {
  std::string s = be32(0x00000803) + be32(n) + be32(h) + be32(w);
  for (uint32_t i = 0; i < n * h * w; ++i) s.push_back(static_cast<char>(i % 256));
  return s;
}

std::string idx_labels(uint32_t n) {
  std::string s = be32(0x00000801) + be32(n);
  for (uint32_t i = 0; i < n; ++i) s.push_back(static_cast<char>(i % 3));
  return s;
}

void expect_file_error(const std::string& path, const std::string& fragment,
                       const std::function<void()>& call) {
  try {
    call();
    FAIL() << "expected FileError";
  } catch (const util::FileError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(path), std::string::npos) << message;
    EXPECT_NE(message.find(fragment), std::string::npos) << message;
  }
}

TEST(Idx, ReadsPlainAndGzippedFiles) {
  TempDir dir("idx");
  testing::write_bytes(dir.file("img"), idx_images(5, 3, 4));
  testing::write_gzip(dir.file("img.gz"), idx_images(5, 3, 4));
  for (const auto& path : {dir.file("img"), dir.file("img.gz")}) {
    const torch::Tensor images = read_idx_images(path);
    ASSERT_EQ(images.sizes(), (std::vector<int64_t>{5, 3, 4}));
    EXPECT_EQ(images.scalar_type(), torch::kUInt8);
    EXPECT_EQ(images[1][2][3].item<int>(), (12 + 2 * 4 + 3) % 256);
  }
  testing::write_bytes(dir.file("lab"), idx_labels(5));
  const torch::Tensor labels = read_idx_labels(dir.file("lab"));
  EXPECT_TRUE(torch::equal(labels, torch::tensor({0, 1, 2, 0, 1}, torch::kInt64)));
}

TEST(Idx, WrongMagicTruncatedTrailingAndMissing) {
  TempDir dir("idx_bad");
  testing::write_bytes(dir.file("labels_as_images"), idx_labels(5));
  expect_file_error(dir.file("labels_as_images"), "wrong magic",
                    [&] { read_idx_images(dir.file("labels_as_images")); });
  std::string cut = idx_images(5, 3, 4);
  cut.pop_back();
  testing::write_gzip(dir.file("cut.gz"), cut);
  expect_file_error(dir.file("cut.gz"), "truncated", [&] { read_idx_images(dir.file("cut.gz")); });
  testing::write_bytes(dir.file("long"), idx_labels(5) + "x");
  expect_file_error(dir.file("long"), "trailing", [&] { read_idx_labels(dir.file("long")); });
  testing::write_bytes(dir.file("short_header"), be32(0x00000803) + be32(5));
  expect_file_error(dir.file("short_header"), "header",
                    [&] { read_idx_images(dir.file("short_header")); });
  expect_file_error(dir.file("none"), "no such file", [&] { read_idx_images(dir.file("none")); });
}

TEST(Idx, LoadMnistLikeChecksCounts) {
  TempDir dir("idx_set");
  testing::write_gzip(dir.file("train-images-idx3-ubyte.gz"), idx_images(6, 2, 2));
  testing::write_bytes(dir.file("train-labels-idx1-ubyte"), idx_labels(6));
  const Dataset d = load_mnist_like(dir.path(), "train");
  d.check();
  ASSERT_EQ(d.inputs.sizes(), (std::vector<int64_t>{6, 1, 2, 2}));
  EXPECT_FLOAT_EQ(d.inputs[1][0][1][1].item<float>(), 7.0f / 255.0f);
  EXPECT_EQ(d.num_classes, 10);
  testing::write_bytes(dir.file("t10k-images-idx3-ubyte"), idx_images(6, 2, 2));
  testing::write_bytes(dir.file("t10k-labels-idx1-ubyte"), idx_labels(5));
  expect_file_error(dir.file("t10k-labels-idx1-ubyte"), "expected equal counts",
                    [&] { load_mnist_like(dir.path(), "test"); });
  EXPECT_THROW(load_mnist_like(dir.path(), "valid"), std::invalid_argument);
  TempDir empty("idx_empty");
  expect_file_error(empty.file("train-images-idx3-ubyte"), "no such file",
                    [&] { load_mnist_like(empty.path(), "train"); });
}

TEST(Idx, GzipBombIsNotInflatedBeyondTheDeclaredSize) {
  // A valid 1 x 2 x 2 image file followed by 1 GiB of zeros in about 1 MiB of gzip members.
  TempDir dir("idx_bomb");
  std::string header_member;
  {
    testing::write_gzip(dir.file("head.gz"), idx_images(1, 2, 2));
    header_member = util::read_file(dir.file("head.gz"));
  }
  testing::write_bytes(dir.file("bomb.gz"), header_member + testing::gzip_zeros(64));
  const long before = testing::peak_rss_mib();
  expect_file_error(dir.file("bomb.gz"), "trailing", [&] { read_idx_images(dir.file("bomb.gz")); });
  EXPECT_LT(testing::peak_rss_mib() - before, 256) << "the reader inflated the whole bomb";
}

TEST(Idx, HeaderPromisingMoreThanTheFileCanHoldIsRefused) {
  TempDir dir("idx_liar");
  // 60000 x 28 x 28 bytes cannot come out of a gzip file of a few dozen bytes.
  testing::write_gzip(dir.file("liar.gz"), be32(0x00000803) + be32(60000) + be32(28) + be32(28));
  expect_file_error(dir.file("liar.gz"), "more than this gzip file",
                    [&] { read_idx_images(dir.file("liar.gz")); });
  // Dimensions whose product overflows 64 bits (it used to wrap around).
  testing::write_bytes(dir.file("huge"), be32(0x00000803) + be32(0xFFFFFFFF) + be32(0xFFFFFFFF) +
                                             be32(0xFFFFFFFF) + "abcd");
  expect_file_error(dir.file("huge"), "more than 2^64", [&] { read_idx_images(dir.file("huge")); });
  testing::write_bytes(dir.file("big"), be32(0x00000801) + be32(1000) + "abcd");
  expect_file_error(dir.file("big"), "can hold (at most 4)",
                    [&] { read_idx_labels(dir.file("big")); });
}

TEST(Idx, EmptyFilesAndFoldersAreRefused) {
  TempDir dir("idx_empty_data");
  testing::write_bytes(dir.file("none"), be32(0x00000803) + be32(0) + be32(28) + be32(28));
  expect_file_error(dir.file("none"), "no data", [&] { read_idx_images(dir.file("none")); });
  testing::write_gzip(dir.file("none.gz"), be32(0x00000801) + be32(0));
  expect_file_error(dir.file("none.gz"), "no data", [&] { read_idx_labels(dir.file("none.gz")); });
  testing::write_bytes(dir.file("flat"), be32(0x00000803) + be32(3) + be32(0) + be32(28));
  expect_file_error(dir.file("flat"), "no data", [&] { read_idx_images(dir.file("flat")); });
  expect_file_error(dir.path(), "is a folder", [&] { read_idx_images(dir.path()); });
}

TEST(Idx, FashionMnistLoads) {
  if (!std::filesystem::exists(kFashionMnistDir)) GTEST_SKIP() << "no " << kFashionMnistDir;
  const Dataset train = load_mnist_like(kFashionMnistDir, "train");
  const Dataset test = load_mnist_like(kFashionMnistDir, "test");
  EXPECT_EQ(train.inputs.sizes(), (std::vector<int64_t>{60000, 1, 28, 28}));
  EXPECT_EQ(test.inputs.sizes(), (std::vector<int64_t>{10000, 1, 28, 28}));
  EXPECT_EQ(train.num_classes, 10);
  EXPECT_EQ(class_counts(train), std::vector<int64_t>(10, 6000));
  EXPECT_EQ(class_counts(test), std::vector<int64_t>(10, 1000));
  EXPECT_GE(train.inputs.min().item<float>(), 0.0f);
  EXPECT_EQ(train.inputs.max().item<float>(), 1.0f);
}

}  // namespace
}  // namespace lowbit::data
