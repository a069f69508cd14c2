#include "lowbit/data/gzip_file.h"

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

}  // namespace
}  // namespace lowbit::data
