#include "lowbit/data/files/npz.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "data/test_files.h"
#include "data/zip_writer.h"
#include "lowbit/data/files/npy.h"
#include "lowbit/util/atomic_file.h"

namespace lowbit::data {
namespace {

using testing::Member;
using testing::TempDir;
using testing::zip_bytes;

std::string write(const TempDir& dir, const std::string& name, const std::string& bytes) {
  const std::string path = dir.file(name);
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

// The error message of read_npz(path); fails the test when nothing is thrown.
std::string error_of(const std::string& path) {
  return testing::file_error_of([&] { read_npz(path); });
}

class NpzTest : public ::testing::Test {
 protected:
  void SetUp() override {
    torch::manual_seed(3);
    x_ = torch::randn({5, 3});
    y_ = torch::arange(5, torch::kInt64);
    z_ = torch::randint(-128, 127, {2, 2, 2}, torch::kInt8);
  }
  std::vector<Member> members(uint16_t method) const {
    return {{"x.npy", npy_bytes(x_, "x"), method},
            {"y.npy", npy_bytes(y_, "y"), method},
            {"z.npy", npy_bytes(z_, "z"), method}};
  }
  TempDir dir_{"npz"};
  torch::Tensor x_, y_, z_;
};

TEST_F(NpzTest, RoundTripsStoredAndDeflateMembers) {
  for (uint16_t method : {uint16_t{0}, uint16_t{8}}) {
    const std::string path = write(dir_, "a.npz", zip_bytes(members(method)));
    auto arrays = read_npz(path);
    ASSERT_EQ(arrays.size(), 3u);
    EXPECT_TRUE(torch::equal(arrays.at("x"), x_));
    EXPECT_TRUE(torch::equal(arrays.at("y"), y_));
    EXPECT_TRUE(torch::equal(arrays.at("z"), z_));
    EXPECT_EQ(arrays.at("z").scalar_type(), torch::kInt8);
    EXPECT_TRUE(torch::equal(read_npz_member(path, "y"), y_));
  }
  // Deflate really compresses: a constant array shrinks.
  const std::string packed = zip_bytes({{"c.npy", npy_bytes(torch::zeros({1000}), "c"), 8}});
  EXPECT_LT(packed.size(), 1000u);
  EXPECT_TRUE(torch::equal(read_npz(write(dir_, "c.npz", packed)).at("c"), torch::zeros({1000})));
}

TEST_F(NpzTest, MissingMemberNamesFileAndKey) {
  const std::string path = write(dir_, "a.npz", zip_bytes(members(0)));
  try {
    read_npz_member(path, "w");
    FAIL() << "no error";
  } catch (const util::FileError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find("'w'"), std::string::npos) << msg;
  }
}

TEST_F(NpzTest, BadInputsAreFileErrors) {
  const std::string good = zip_bytes(members(8));
  // Not a zip at all: a plain .npy file.
  std::string msg = error_of(write(dir_, "n.npz", npy_bytes(x_, "x")));
  EXPECT_NE(msg.find("not a ZIP"), std::string::npos) << msg;
  EXPECT_NE(error_of(write(dir_, "e.npz", "")).find("not a ZIP"), std::string::npos);
  // Truncated: the end record is cut off, or the data before the central directory.
  msg = error_of(write(dir_, "t.npz", good.substr(0, good.size() - 10)));
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
  msg = error_of(write(dir_, "t2.npz", good.substr(0, 40) + good.substr(good.size() - 22)));
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
  // CRC mismatch: flip one byte of the stored data of member x.
  std::string corrupt = zip_bytes(members(0));
  corrupt[30 + 5 + 100] ^= 0x55;
  msg = error_of(write(dir_, "crc.npz", corrupt));
  EXPECT_NE(msg.find("fails its CRC-32 check"), std::string::npos) << msg;
  EXPECT_NE(msg.find("x.npy"), std::string::npos) << msg;
  // Unsupported method (12 = bzip2).
  msg = error_of(write(dir_, "m.npz", zip_bytes({{"y.npy", npy_bytes(y_, "y"), 12}})));
  EXPECT_NE(msg.find("compression method 12"), std::string::npos) << msg;
  EXPECT_NE(msg.find("y.npy"), std::string::npos) << msg;
  // Corrupt deflate stream.
  std::string bad_deflate = good;
  for (size_t i = 40; i < 60; ++i) bad_deflate[i] = static_cast<char>(0xFF);
  msg = error_of(write(dir_, "d.npz", bad_deflate));
  EXPECT_NE(msg.find("x.npy"), std::string::npos) << msg;
  // The end record's central-directory offset is the zip64 marker, but no zip64 record follows.
  std::string zip64 = good;
  for (size_t i = zip64.size() - 6; i < zip64.size() - 2; ++i) zip64[i] = static_cast<char>(0xFF);
  msg = error_of(write(dir_, "z64.npz", zip64));
  EXPECT_NE(msg.find("zip64 records that are missing"), std::string::npos) << msg;
  // A member that is not a .npy file.
  msg = error_of(write(dir_, "j.npz", zip_bytes({{"j.npy", "hello", 0}})));
  EXPECT_NE(msg.find("j.npy"), std::string::npos) << msg;
  // Every message names the file.
  EXPECT_NE(error_of(dir_.file("missing.npz")).find("missing.npz"), std::string::npos);
}

TEST_F(NpzTest, DeclaredSizeBeyondWhatTheDeflateDataCanHoldIsRefused) {
  // 116 bytes that declare 1.2 GB: deflate expands at most 1032 times, so this is refused first.
  Member bomb{"x.npy", npy_bytes(x_, "x"), 8};
  bomb.declared_size = 1200000000;
  const std::string msg = error_of(write(dir_, "bomb.npz", zip_bytes({bomb})));
  EXPECT_NE(msg.find("bomb.npz"), std::string::npos) << msg;
  EXPECT_NE(msg.find("x.npy"), std::string::npos) << msg;
  EXPECT_NE(msg.find("declares 1200000000 bytes"), std::string::npos) << msg;
}

TEST_F(NpzTest, MemoryFollowsTheInflatedBytesNotTheDeclaredSize) {
  // 2 MB of packed bytes may declare 2 GB, but the deflate stream in them ends after a few
  // hundred bytes: the reader must fail without allocating the declared size.
  Member liar{"x.npy", npy_bytes(x_, "x"), 8};
  liar.packed_tail = std::string(size_t{2} << 20, '\x55');
  liar.declared_size = 2000000000;
  const std::string path = write(dir_, "liar.npz", zip_bytes({liar}));
  const long before = testing::peak_rss_mib();
  const std::string msg = error_of(path);
  EXPECT_LT(testing::peak_rss_mib() - before, 256) << "peak memory grew with the declared size";
  EXPECT_NE(msg.find("x.npy' inflates to"), std::string::npos) << msg;
  EXPECT_NE(msg.find("not its recorded 2000000000"), std::string::npos) << msg;
}

TEST_F(NpzTest, LocalZip64ExtrasAsNumpyWritesThemAreRead) {
  // numpy's savez forces a ZIP64 extra field into every local header; sizes and offsets come
  // from the central directory, so such archives read like any other.
  std::string extra;
  testing::put16(extra, 0x0001);
  testing::put16(extra, 16);
  extra += std::string(16, '\0');
  std::vector<Member> with_extras = members(8);
  for (Member& m : with_extras) m.local_extra = extra;
  const auto arrays = read_npz(write(dir_, "numpy.npz", zip_bytes(with_extras)));
  EXPECT_TRUE(torch::equal(arrays.at("x"), x_));
  EXPECT_TRUE(torch::equal(arrays.at("z"), z_));
}

TEST_F(NpzTest, AFolderIsRefusedByName) {
  const std::string msg = error_of(dir_.path());
  EXPECT_NE(msg.find(dir_.path()), std::string::npos) << msg;
  EXPECT_NE(msg.find("is a folder"), std::string::npos) << msg;
}

TEST_F(NpzTest, ArchivesWithZip64RecordsThroughoutAndACommentAreRead) {
  // Over 4 GiB or 65535 members an archive keeps its sizes, offsets and counts in zip64 extra
  // fields and records (Python's zipfile writes them then); zip tools may add a comment.
  testing::ZipLayout zip64;
  zip64.zip64 = true;
  testing::ZipLayout commented;
  commented.comment = "written by zip 3.0; PK\x05\x06 inside the comment";
  for (const auto& [name, layout] : {std::pair{"zip64.npz", zip64}, {"comment.npz", commented}}) {
    const auto arrays = read_npz(write(dir_, name, zip_bytes(members(8), layout)));
    ASSERT_EQ(arrays.size(), 3u) << name;
    EXPECT_TRUE(torch::equal(arrays.at("x"), x_)) << name;
    EXPECT_TRUE(torch::equal(arrays.at("y"), y_)) << name;
    EXPECT_TRUE(torch::equal(arrays.at("z"), z_)) << name;
  }
}

TEST_F(NpzTest, Zip64MarkersWithoutTheirRecordsAreRefusedByName) {
  // A member whose size is the zip64 marker but which has no zip64 extra field.
  Member huge{"y.npy", npy_bytes(y_, "y"), 0};
  huge.declared_size = 0xFFFFFFFF;
  std::string msg = error_of(write(dir_, "huge.npz", zip_bytes({huge})));
  EXPECT_NE(msg.find("huge.npz: member 'y.npy' marks a size or offset as zip64"), std::string::npos)
      << msg;
  // A zip64 locator in front of the end record that points at no zip64 end record.
  const std::string good = zip_bytes(members(0));
  std::string locator;
  testing::put32(locator, 0x07064b50);
  testing::put32(locator, 0);
  locator += std::string(8, '\0');
  testing::put32(locator, 1);
  std::string with_locator = good;
  with_locator.insert(good.size() - 22, locator);
  msg = error_of(write(dir_, "locator.npz", with_locator));
  EXPECT_NE(msg.find("locator.npz: the zip64 end record is not where the zip64 locator says"),
            std::string::npos)
      << msg;
  // The end record's member count is the zip64 marker, with no zip64 records.
  std::string many = good;
  many[good.size() - 12] = static_cast<char>(0xFF);
  many[good.size() - 11] = static_cast<char>(0xFF);
  msg = error_of(write(dir_, "many.npz", many));
  EXPECT_NE(msg.find("many.npz: the end record"), std::string::npos) << msg;
  // Bytes after the end record that are not its comment.
  msg = error_of(write(dir_, "tail.npz", good + "junk"));
  EXPECT_NE(msg.find("tail.npz: no zip end record at the end of the file"), std::string::npos)
      << msg;
}

}  // namespace
}  // namespace lowbit::data
