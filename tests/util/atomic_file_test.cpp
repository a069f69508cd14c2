#include "lowbit/util/atomic_file.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <stdexcept>

namespace lowbit::util {
namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("lowbit_atomic_" + name)).string();
}

TEST(AtomicFile, WritesAndReadsBack) {
  const std::string path = temp_path("basic.txt");
  write_text_atomically(path, "hello\n");
  EXPECT_EQ(read_file(path), "hello\n");
  write_text_atomically(path, "replaced");
  EXPECT_EQ(read_file(path), "replaced");
  std::remove(path.c_str());
}

TEST(AtomicFile, FailingWriterKeepsOldContentAndLeavesNoTemporary) {
  const std::string path = temp_path("keep.txt");
  write_text_atomically(path, "old content");
  EXPECT_THROW(write_file_atomically(path,
                                     [](std::ostream& out) {
                                       out << "partial new";
                                       throw std::runtime_error("writer failed midway");
                                     }),
               std::runtime_error);
  EXPECT_EQ(read_file(path), "old content");
  for (const auto& entry :
       std::filesystem::directory_iterator(std::filesystem::temp_directory_path())) {
    EXPECT_EQ(entry.path().string().find(path + ".tmp."), std::string::npos) << entry.path();
  }
  std::remove(path.c_str());
}

TEST(AtomicFile, ErrorsNameThePath) {
  try {
    read_file("/nonexistent/dir/file.bin");
    FAIL() << "expected FileError";
  } catch (const FileError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/dir/file.bin"), std::string::npos);
  }
  EXPECT_THROW(write_text_atomically("/nonexistent/dir/out.txt", "x"), FileError);
}

}  // namespace
}  // namespace lowbit::util
