#include "lowbit/data/files/npy.h"

#include <gtest/gtest.h>
#include <torch/types.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "lowbit/util/atomic_file.h"

namespace lowbit::data {
namespace {

class NpyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    torch::manual_seed(7);
    std::string pattern = ::testing::TempDir() + "npy_test_XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }

  std::string path(const std::string& file) const { return dir_ + "/" + file; }

  /// Writes raw bytes to a file of the temp dir and returns its path.
  std::string put(const std::string& file, const std::string& bytes) const {
    util::write_text_atomically(path(file), bytes);
    return path(file);
  }

  std::string dir_;
};

/// A .npy file built by hand: `dict` is the header text before padding.
std::string hand_npy(const std::string& dict, const std::string& data, int major = 1) {
  const size_t prelude = major == 1 ? 10 : 12;
  const size_t pad = 64 - (prelude + dict.size() + 1) % 64;
  const size_t header_len = dict.size() + 1 + pad;
  std::string out("\x93NUMPY", 6);
  out.push_back(static_cast<char>(major));
  out.push_back(0);
  for (size_t i = 0; i < prelude - 8; ++i)
    out.push_back(static_cast<char>((header_len >> (8 * i)) & 0xff));
  out += dict + std::string(pad, ' ') + "\n" + data;
  return out;
}

std::string f4_dict(const std::string& shape) {
  return "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
}

std::string float_bytes(const std::vector<float>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
}

torch::Tensor sample(torch::ScalarType type, const std::vector<int64_t>& shape) {
  const torch::Tensor base = torch::randn(shape, torch::kFloat64) * 50.0;
  if (type == torch::kUInt8) return base.abs().clamp_max(255).to(type);
  if (type == torch::kInt8) return base.clamp(-128, 127).to(type);
  return base.to(type);
}

const std::vector<torch::ScalarType> kTypes = {torch::kFloat32, torch::kFloat64, torch::kInt8,
                                               torch::kUInt8,   torch::kInt32,   torch::kInt64};

TEST_F(NpyTest, RoundTripsEveryDtypeAtRanksZeroToFour) {
  const std::vector<std::vector<int64_t>> shapes = {{}, {5}, {2, 3}, {2, 1, 3}, {1, 2, 3, 2}};
  for (const auto type : kTypes) {
    for (const auto& shape : shapes) {
      const torch::Tensor t = sample(type, shape);
      write_npy(path("a.npy"), t);
      const torch::Tensor r = read_npy(path("a.npy"));
      ASSERT_EQ(r.scalar_type(), type) << c10::toString(type);
      ASSERT_EQ(r.sizes(), t.sizes()) << c10::toString(type) << " rank " << shape.size();
      ASSERT_TRUE(torch::equal(r, t)) << c10::toString(type) << " rank " << shape.size();
    }
  }
}

TEST_F(NpyTest, RoundTripsAwkwardShapes) {
  const std::vector<std::vector<int64_t>> shapes = {{0},          {3, 0, 2}, {1},         {17, 1},
                                                    {1, 1, 1, 1}, {33},      {7, 15, 31}, {0, 0}};
  for (const auto& shape : shapes) {
    const torch::Tensor t = sample(torch::kFloat32, shape);
    write_npy(path("b.npy"), t);
    const torch::Tensor r = read_npy(path("b.npy"));
    ASSERT_EQ(r.sizes(), t.sizes());
    ASSERT_TRUE(torch::equal(r, t));
  }
}

TEST_F(NpyTest, WritesNonContiguousTensorsInCOrder) {
  const torch::Tensor t = torch::arange(12, torch::kInt32).reshape({3, 4}).t();
  write_npy(path("t.npy"), t);
  const torch::Tensor r = read_npy(path("t.npy"));
  EXPECT_TRUE(r.is_contiguous());
  EXPECT_TRUE(torch::equal(r, t.contiguous()));
  EXPECT_EQ(r[0][1].item<int32_t>(), 4);
}

TEST_F(NpyTest, HeaderLayoutIsByteExact) {
  const torch::Tensor t = torch::tensor({1.0f, -2.0f, 0.5f, 3.0f, 0.0f, -0.25f}).reshape({2, 3});
  const std::string bytes = npy_bytes(t, "x.npy");
  // NumPy's own bytes for np.save of a (2, 3) float32 array: header length 118 (0x76).
  const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  const std::string expected_header =
      std::string("\x93NUMPY\x01\x00\x76\x00", 10) + dict + std::string(58, ' ') + "\n";
  ASSERT_EQ(bytes.size(), 128u + 24u);
  EXPECT_EQ(bytes.substr(0, 128), expected_header);
  EXPECT_EQ(bytes.substr(128), float_bytes({1.0f, -2.0f, 0.5f, 3.0f, 0.0f, -0.25f}));
  EXPECT_EQ(bytes.substr(128, 8), std::string("\x00\x00\x80\x3f\x00\x00\x00\xc0", 8));
}

TEST_F(NpyTest, HeaderTextForScalarsAndVectors) {
  const std::string scalar_dict = "{'descr': '|i1', 'fortran_order': False, 'shape': (), }";
  const std::string scalar = npy_bytes(torch::tensor(int8_t{-3}).reshape({}), "s.npy");
  EXPECT_EQ(scalar.substr(10, scalar_dict.size() + 1), scalar_dict + " ");
  ASSERT_EQ(scalar.size(), 129u);
  EXPECT_EQ(scalar.substr(128), std::string(1, '\xfd'));
  const std::string vec_dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (7,), }";
  const std::string vec = npy_bytes(torch::zeros({7}, torch::kFloat64), "v.npy");
  EXPECT_EQ(vec.substr(10, vec_dict.size() + 1), vec_dict + " ");
  const std::string i32_dict = "{'descr': '<i4', 'fortran_order': False, 'shape': (1, 2), }";
  const std::string i32 = npy_bytes(torch::zeros({1, 2}, torch::kInt32), "i.npy");
  EXPECT_EQ(i32.substr(10, i32_dict.size() + 1), i32_dict + " ");
}

TEST_F(NpyTest, HeaderIsAlwaysPaddedTo64Bytes) {
  // Shapes whose header text lands on every residue modulo 64, including an exact multiple,
  // where NumPy still adds a full 64 spaces of padding (one space at the least).
  for (int64_t rank = 0; rank <= 20; ++rank) {
    for (int64_t d : {1, 10, 100, 1000}) {
      std::vector<int64_t> shape(static_cast<size_t>(rank), 1);
      if (rank > 0) shape[0] = d;
      const torch::Tensor t = torch::zeros(shape, torch::kUInt8);
      const std::string bytes = npy_bytes(t, "p.npy");
      const size_t header_len = static_cast<unsigned char>(bytes[8]) |
                                (static_cast<size_t>(static_cast<unsigned char>(bytes[9])) << 8);
      const size_t data_offset = 10 + header_len;
      ASSERT_EQ(data_offset % 64, 0u) << "rank " << rank;
      ASSERT_EQ(bytes[data_offset - 1], '\n');
      ASSERT_EQ(bytes[data_offset - 2], ' ') << "rank " << rank;
      ASSERT_EQ(bytes.size() - data_offset, static_cast<size_t>(t.numel()));
    }
  }
}

TEST_F(NpyTest, ReadsVersionTwoAndThree) {
  for (int major : {2, 3}) {
    const std::string file = put("v" + std::to_string(major) + ".npy",
                                 hand_npy(f4_dict("(3,)"), float_bytes({1, 2, 3}), major));
    const torch::Tensor r = read_npy(file);
    EXPECT_TRUE(torch::equal(r, torch::tensor({1.0f, 2.0f, 3.0f}))) << "version " << major;
  }
}

TEST_F(NpyTest, ReadsOtherKeyOrderQuotesAndSpacing) {
  const std::string dict = "{\"shape\":(2,2),\"fortran_order\":False,\"descr\":\"<f4\"}";
  const torch::Tensor r = read_npy(put("o.npy", hand_npy(dict, float_bytes({1, 2, 3, 4}))));
  EXPECT_TRUE(torch::equal(r, torch::tensor({1.0f, 2.0f, 3.0f, 4.0f}).reshape({2, 2})));
  const std::string i1 = "{'descr': '<i1', 'fortran_order': False, 'shape': (2,), }";
  const torch::Tensor r8 = read_npy(put("i1.npy", hand_npy(i1, std::string("\x05\xff", 2))));
  EXPECT_EQ(r8.scalar_type(), torch::kInt8);
  EXPECT_EQ(r8[1].item<int8_t>(), -1);
}

/// Expects read_npy on a file holding `bytes` to throw FileError naming the file and `phrase`.
void expect_bad(const std::string& file, const std::string& phrase) {
  try {
    read_npy(file);
    ADD_FAILURE() << file << ": no error; expected one mentioning \"" << phrase << "\"";
  } catch (const util::FileError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(file), std::string::npos) << msg;
    EXPECT_NE(msg.find(phrase), std::string::npos) << msg;
  }
}

TEST_F(NpyTest, RejectsEveryBadInputNamingTheFile) {
  const std::string good = hand_npy(f4_dict("(2, 3)"), float_bytes({1, 2, 3, 4, 5, 6}));
  std::string bad_magic = good;
  bad_magic[1] = 'M';
  expect_bad(put("magic.npy", bad_magic), "magic");
  expect_bad(put("empty.npy", ""), "truncated .npy file");
  expect_bad(put("short.npy", good.substr(0, 7)), "truncated .npy file");
  expect_bad(put("header.npy", good.substr(0, 40)), "truncated .npy header");
  expect_bad(put("data.npy", good.substr(0, good.size() - 1)), "truncated data");
  expect_bad(put("extra.npy", good + "xxxx"), "data and header disagree");
  std::string v4 = good;
  v4[6] = 4;
  expect_bad(put("v4.npy", v4), "version 4.0");
  expect_bad(put("big.npy", hand_npy("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }",
                                     float_bytes({1}))),
             "big-endian");
  expect_bad(put("fortran.npy", hand_npy("{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }",
                                         float_bytes({1}))),
             "Fortran");
  expect_bad(put("object.npy", hand_npy("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }",
                                        std::string(8, '\0'))),
             "Python objects");
  expect_bad(put("f2.npy", hand_npy("{'descr': '<f2', 'fortran_order': False, 'shape': (1,), }",
                                    std::string(2, '\0'))),
             "unsupported dtype '<f2'");
  expect_bad(put("struct.npy",
                 hand_npy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }",
                          float_bytes({1}))),
             "structured");
  expect_bad(put("noshape.npy", hand_npy("{'descr': '<f4', 'fortran_order': False, }", "")),
             "no 'shape' key");
  expect_bad(put("key.npy", hand_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), "
                                     "'extra': 1, }",
                                     float_bytes({1}))),
             "unexpected key 'extra'");
  expect_bad(put("neg.npy", hand_npy(f4_dict("(-1,)"), float_bytes({1}))), "non-negative integers");
  expect_bad(
      put("repeat.npy",
          hand_npy("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,), }",
                   float_bytes({1}))),
      "repeated key 'descr'");
  expect_bad(put("garbage.npy", hand_npy("descr", "")), "expected '{'");
  expect_bad(path("missing.npy"), "no such file");
}

TEST_F(NpyTest, RejectsWritingUnsupportedDtypes) {
  try {
    write_npy(path("bool.npy"), torch::ones({2}, torch::kBool));
    ADD_FAILURE() << "no error writing bool";
  } catch (const util::FileError& e) {
    EXPECT_NE(std::string(e.what()).find(path("bool.npy")), std::string::npos) << e.what();
  }
  EXPECT_NE(::access(path("bool.npy").c_str(), F_OK), 0);
}

TEST_F(NpyTest, WriteIntoMissingFolderFailsAndLeavesNothing) {
  const std::string file = path("no/such/dir/x.npy");
  EXPECT_THROW(write_npy(file, torch::ones({2})), util::FileError);
  EXPECT_NE(::access(path("no").c_str(), F_OK), 0);
}

TEST_F(NpyTest, ReadNpyBytesNamesTheMember) {
  try {
    read_npy_bytes("garbage!!!!!", "archive.npz:weights.npy");
    ADD_FAILURE() << "no error";
  } catch (const util::FileError& e) {
    EXPECT_NE(std::string(e.what()).find("archive.npz:weights.npy"), std::string::npos);
  }
}

TEST_F(NpyTest, AFolderOrAHugeHeaderIsReportedShortly) {
  try {
    read_npy(dir_);
    ADD_FAILURE() << "no error";
  } catch (const util::FileError& e) {
    EXPECT_NE(std::string(e.what()).find(dir_ + ": is a folder"), std::string::npos) << e.what();
  }
  // A version 2.0 header of 1 MB of junk: the message quotes the start of it only.
  std::string bytes = std::string("\x93NUMPY\x02\x00", 8);
  const uint32_t length = 1 << 20;
  for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<char>((length >> (8 * i)) & 0xFF));
  bytes += "{'descr': '<f4', 'junk" + std::string(length - 16, 'j') + "\n";
  try {
    read_npy_bytes(bytes, "big_header.npy");
    ADD_FAILURE() << "no error";
  } catch (const util::FileError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("big_header.npy"), std::string::npos) << msg.substr(0, 300);
    EXPECT_LT(msg.size(), 600u);
  }
}

}  // namespace
}  // namespace lowbit::data
