#include "lowbit/util/atomic_file.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <stdexcept>

#include "file_size_limit.h"

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

using lowbit::testing::FileSizeLimit;

TEST(AtomicFile, FullDiskIsAFileErrorAndKeepsTheOldFile) {
  const std::string path = temp_path("full.bin");
  write_text_atomically(path, "old content");
  {
    FileSizeLimit limit(4096);
    ASSERT_TRUE(limit.ok());
    try {
      write_text_atomically(path, std::string(100000, 'x'));
      FAIL() << "expected FileError";
    } catch (const FileError& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(read_file(path), "old content");
  EXPECT_FALSE(std::filesystem::exists(atomic_temp_path(path, ::getpid())));
  std::remove(path.c_str());
}

// A pid that belonged to a process which has exited and been reaped.
long dead_pid() {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);
  return child;
}

TEST(AtomicFile, RemoveStaleTempFilesTakesOnlyTemporariesOfDeadProcesses) {
  namespace fs = std::filesystem;
  const fs::path dir = temp_path("stale_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const long dead = dead_pid();
  ASSERT_TRUE(process_is_gone(dead));
  ASSERT_FALSE(process_is_gone(::getpid()));
  const std::string stale = atomic_temp_path((dir / "best.pt").string(), dead);
  const std::vector<std::string> kept = {
      atomic_temp_path((dir / "last.pt").string(), ::getpid()),  // a write in progress
      (dir / "best.pt").string(),
      (dir / "notes.tmp.txt").string(),
      (dir / "x.tmp.12a").string(),
      (dir / "init.tmp.1").string(),  // pid 1 is never "gone"
      (dir / ".tmp.5").string(),
  };
  write_text_atomically(stale, "partial");
  for (const std::string& path : kept) write_text_atomically(path, "keep");
  fs::create_directories(atomic_temp_path((dir / "folder").string(), dead));

  const std::vector<std::string> removed = remove_stale_temp_files(dir.string());
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0], stale);
  EXPECT_FALSE(fs::exists(stale));
  for (const std::string& path : kept) EXPECT_TRUE(fs::exists(path)) << path;
  EXPECT_TRUE(fs::is_directory(atomic_temp_path((dir / "folder").string(), dead)));
  EXPECT_TRUE(remove_stale_temp_files((dir / "absent").string()).empty());
  fs::remove_all(dir);
}

}  // namespace
}  // namespace lowbit::util
