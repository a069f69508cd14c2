#include "lowbit/data/files/gzip_file.h"

#include <gtest/gtest.h>

#include "data/test_files.h"
#include "lowbit/util/atomic_file.h"

namespace lowbit::data {
namespace {

using testing::TempDir;

std::string sample_bytes() {
  std::string s;
  for (int i = 0; i < 100000; ++i) s.push_back(static_cast<char>((i * 7919) % 251));
  return s;
}

TEST(GzipFile, ReadsPlainAndGzippedAlike) {
  TempDir dir("gzip");
  const std::string bytes = sample_bytes();
  testing::write_bytes(dir.file("plain.bin"), bytes);
  testing::write_gzip(dir.file("packed.bin.gz"), bytes);
  EXPECT_EQ(read_maybe_gzipped(dir.file("plain.bin")), bytes);
  EXPECT_EQ(read_maybe_gzipped(dir.file("packed.bin.gz")), bytes);
}

TEST(GzipFile, TruncatedGzipAndMissingFileNameThePath) {
  TempDir dir("gzip_bad");
  testing::write_gzip(dir.file("full.gz"), sample_bytes());
  const std::string packed = util::read_file(dir.file("full.gz"));
  testing::write_bytes(dir.file("cut.gz"), packed.substr(0, packed.size() / 2));
  for (const std::string& path : {dir.file("cut.gz"), dir.file("missing.gz")}) {
    try {
      read_maybe_gzipped(path);
      FAIL() << "expected FileError for " << path;
    } catch (const util::FileError& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
  }
}

TEST(GzipFile, ReaderReadsInPiecesAndBoundsTheContent) {
  TempDir dir("gzip_reader");
  const std::string bytes = sample_bytes();
  testing::write_bytes(dir.file("plain.bin"), bytes);
  testing::write_gzip(dir.file("packed.bin.gz"), bytes);
  for (const std::string name : {"plain.bin", "packed.bin.gz"}) {
    MaybeGzippedReader reader(dir.file(name));
    std::string got;
    EXPECT_EQ(reader.read(got, 10), 10u);
    EXPECT_EQ(reader.read(got, 99990), 99990u);
    EXPECT_EQ(reader.read(got, 5), 0u);
    EXPECT_EQ(got, bytes);
    EXPECT_EQ(reader.compressed(), name != std::string("plain.bin"));
    EXPECT_EQ(reader.max_content(),
              reader.compressed() ? reader.file_size() * kMaxDeflateRatio : bytes.size());
  }
  // The bound is real: 1 GiB of zeros in gzip stays under 1032 times its size on disk.
  const std::string bomb = testing::gzip_zeros(64);
  EXPECT_LT(uint64_t{64} << 24, bomb.size() * kMaxDeflateRatio);
}

TEST(GzipFile, AFolderIsNamed) {
  TempDir dir("gzip_folder");
  try {
    MaybeGzippedReader reader(dir.path());
    FAIL() << "no error";
  } catch (const util::FileError& e) {
    EXPECT_NE(std::string(e.what()).find(dir.path() + ": is a folder"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace lowbit::data
