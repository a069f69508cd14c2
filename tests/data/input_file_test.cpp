#include "lowbit/data/files/input_file.h"

#include <gtest/gtest.h>

#include <string>

#include "data/test_files.h"
#include "lowbit/util/atomic_file.h"

namespace lowbit::data {
namespace {

using testing::TempDir;

TEST(InputFile, EchoKeepsShortTextAndCutsLongText) {
  EXPECT_EQ(echo("1.5e3x"), "1.5e3x");
  const std::string exact(kMaxEcho, 'a');
  EXPECT_EQ(echo(exact), exact);
  const std::string cut = echo(std::string(1000000, 'b'));
  EXPECT_EQ(cut, std::string(kMaxEcho, 'b') + "... (1000000 bytes)");
}

TEST(InputFile, ReadsFilesAndNamesFoldersAndMissingPaths) {
  TempDir dir("input_file");
  testing::write_bytes(dir.file("a.txt"), std::string("x\0y", 3));
  EXPECT_EQ(read_input_file(dir.file("a.txt"), "a text file"), std::string("x\0y", 3));
  for (const auto& [path, fragment] :
       {std::pair{dir.path(), ": is a folder (expected a text file)"},
        std::pair{dir.file("none.txt"), ": no such file (expected a text file)"}}) {
    try {
      read_input_file(path, "a text file");
      FAIL() << "no error for " << path;
    } catch (const util::FileError& e) {
      EXPECT_NE(std::string(e.what()).find(path + fragment), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace lowbit::data
