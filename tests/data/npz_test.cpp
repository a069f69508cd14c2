#include "lowbit/data/npz.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "data/test_files.h"
#include "lowbit/data/npy.h"
#include "lowbit/util/atomic_file.h"

namespace lowbit::data {
namespace {

using testing::TempDir;

// One archive member for the test's ZIP writer.
struct Member {
  std::string name;
  std::string data;
  uint16_t method = 0;  // 0 stored, 8 deflate, anything else to test rejection
};

void put16(std::string& out, uint32_t v) {
  out += static_cast<char>(v & 0xFF);
  out += static_cast<char>((v >> 8) & 0xFF);
}

void put32(std::string& out, uint32_t v) {
  put16(out, v & 0xFFFF);
  put16(out, v >> 16);
}

std::string deflate_raw(const std::string& data) {
  z_stream s{};
  EXPECT_EQ(deflateInit2(&s, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&s, data.size()), '\0');
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  s.avail_in = static_cast<uInt>(data.size());
  s.next_out = reinterpret_cast<Bytef*>(out.data());
  s.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&s, Z_FINISH), Z_STREAM_END);
  out.resize(s.total_out);
  deflateEnd(&s);
  return out;
}

// A minimal ZIP writer: local headers, data, central directory, end record.
std::string zip_bytes(const std::vector<Member>& members) {
  std::string out;
  std::string dir;
  for (const Member& m : members) {
    const std::string packed = m.method == 8 ? deflate_raw(m.data) : m.data;
    const uint32_t crc = static_cast<uint32_t>(
        crc32(0L, reinterpret_cast<const Bytef*>(m.data.data()), static_cast<uInt>(m.data.size())));
    const uint32_t offset = static_cast<uint32_t>(out.size());
    put32(out, 0x04034b50);
    put16(out, 20);
    put16(out, 0);
    put16(out, m.method);
    put32(out, 0);  // time and date
    put32(out, crc);
    put32(out, static_cast<uint32_t>(packed.size()));
    put32(out, static_cast<uint32_t>(m.data.size()));
    put16(out, static_cast<uint32_t>(m.name.size()));
    put16(out, 0);
    out += m.name + packed;
    put32(dir, 0x02014b50);
    put16(dir, 20);
    put16(dir, 20);
    put16(dir, 0);
    put16(dir, m.method);
    put32(dir, 0);
    put32(dir, crc);
    put32(dir, static_cast<uint32_t>(packed.size()));
    put32(dir, static_cast<uint32_t>(m.data.size()));
    put16(dir, static_cast<uint32_t>(m.name.size()));
    put16(dir, 0);
    put16(dir, 0);
    put16(dir, 0);
    put16(dir, 0);
    put32(dir, 0);
    put32(dir, offset);
    dir += m.name;
  }
  const uint32_t dir_at = static_cast<uint32_t>(out.size());
  out += dir;
  put32(out, 0x06054b50);
  put16(out, 0);
  put16(out, 0);
  put16(out, static_cast<uint32_t>(members.size()));
  put16(out, static_cast<uint32_t>(members.size()));
  put32(out, static_cast<uint32_t>(dir.size()));
  put32(out, dir_at);
  put16(out, 0);
  return out;
}

std::string write(const TempDir& dir, const std::string& name, const std::string& bytes) {
  const std::string path = dir.file(name);
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

// The error message of read_npz(path); fails the test when nothing is thrown.
std::string error_of(const std::string& path) {
  try {
    read_npz(path);
  } catch (const util::FileError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no FileError for " << path;
  return "";
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
  EXPECT_NE(msg.find("CRC mismatch"), std::string::npos) << msg;
  EXPECT_NE(msg.find("x.npy"), std::string::npos) << msg;
  // Unsupported method (12 = bzip2).
  msg = error_of(write(dir_, "m.npz", zip_bytes({{"y.npy", npy_bytes(y_, "y"), 12}})));
  EXPECT_NE(msg.find("unsupported compression method 12"), std::string::npos) << msg;
  EXPECT_NE(msg.find("y.npy"), std::string::npos) << msg;
  // Corrupt deflate stream.
  std::string bad_deflate = good;
  for (size_t i = 40; i < 60; ++i) bad_deflate[i] = static_cast<char>(0xFF);
  msg = error_of(write(dir_, "d.npz", bad_deflate));
  EXPECT_NE(msg.find("x.npy"), std::string::npos) << msg;
  // ZIP64: the end record's central-directory offset is the ZIP64 marker.
  std::string zip64 = good;
  for (size_t i = zip64.size() - 6; i < zip64.size() - 2; ++i) zip64[i] = static_cast<char>(0xFF);
  msg = error_of(write(dir_, "z64.npz", zip64));
  EXPECT_NE(msg.find("ZIP64"), std::string::npos) << msg;
  // A member that is not a .npy file.
  msg = error_of(write(dir_, "j.npz", zip_bytes({{"j.npy", "hello", 0}})));
  EXPECT_NE(msg.find("j.npy"), std::string::npos) << msg;
  // Every message names the file.
  EXPECT_NE(error_of(dir_.file("missing.npz")).find("missing.npz"), std::string::npos);
}

}  // namespace
}  // namespace lowbit::data
