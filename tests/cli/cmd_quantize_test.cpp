// `lowbit quantize`, run as a program, compared with the library's own quantizers.
#include <gtest/gtest.h>
#include <torch/types.h>

#include <limits>
#include <string>

#include "cli/run_lowbit.h"
#include "lowbit/data/files/npy.h"
#include "lowbit/quant/registry.h"

namespace lowbit::cli {
namespace {

using testing::count_entries;
using testing::exists;
using testing::quoted;
using testing::run_lowbit;
using testing::TempDir;
using testing::weight_type_with;

/// What the library gives for x, calibrated the way docs/quantizers.md says `quantize` does:
/// one training-mode pass without gradients, then the eval-mode output and integer form.
struct Expected {
  torch::Tensor y;
  quant::IntegerForm form;
};

Expected library_result(const quant::QuantSpec& spec, const torch::Tensor& x) {
  const quant::Quantizer q = quant::make_quantizer(spec, quant::Role::kWeight);
  torch::NoGradGuard no_grad;
  q->train();
  q->forward(x);
  q->eval();
  Expected e;
  e.y = q->forward(x);
  e.form = q->integer_form(x);
  return e;
}

class QuantizeTest : public ::testing::Test {
 protected:
  void SetUp() override { torch::manual_seed(11); }
  TempDir dir_;
};

TEST_F(QuantizeTest, OutputCodesAndScaleMatchTheLibrary) {
  const auto type = weight_type_with("");
  if (!type) GTEST_SKIP() << "no quantizer type for weights is registered in this build";
  const torch::Tensor x = torch::randn({4, 5}) * 2;
  data::write_npy(dir_ / "x.npy", x);
  const auto r =
      run_lowbit("quantize --spec " + type->name + " --in " + quoted(dir_ / "x.npy") + " --out " +
                 quoted(dir_ / "y.npy") + " --ints " + quoted(dir_ / "q.npy") + " --scale " +
                 quoted(dir_ / "s.npy") + " --zero-point " + quoted(dir_ / "z.npy"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");

  const Expected e = library_result(quant::QuantSpec(type->name), x);
  const torch::Tensor y = data::read_npy(dir_ / "y.npy");
  ASSERT_EQ(y.scalar_type(), torch::kFloat32);
  ASSERT_EQ(y.sizes(), x.sizes());
  EXPECT_TRUE(torch::equal(y, e.y)) << type->name;

  const torch::Tensor codes = data::read_npy(dir_ / "q.npy");
  const bool int8_grid = e.form.code_min >= -128 && e.form.code_max <= 127;
  EXPECT_EQ(codes.scalar_type(), int8_grid ? torch::kInt8 : torch::kInt32);
  EXPECT_TRUE(torch::equal(codes.to(torch::kInt32), e.form.codes.to(torch::kInt32)));
  const torch::Tensor scale = data::read_npy(dir_ / "s.npy");
  const torch::Tensor zero_point = data::read_npy(dir_ / "z.npy");
  EXPECT_EQ(scale.dim(), 0);
  EXPECT_EQ(zero_point.scalar_type(), torch::kInt32);

  // The files alone rebuild the output exactly.
  quant::IntegerForm from_files = e.form;
  from_files.codes = codes.to(torch::kInt32);
  from_files.scale = scale;
  from_files.zero_point = zero_point;
  EXPECT_TRUE(torch::equal(from_files.dequantize(), y));
  if (!e.form.levels.defined()) {
    EXPECT_TRUE(
        torch::equal((codes.to(torch::kInt32) - zero_point).to(torch::kFloat32) * scale, y));
  }
}

TEST_F(QuantizeTest, Float64InputIsQuantizedAsFloat32) {
  const auto type = weight_type_with("");
  if (!type) GTEST_SKIP() << "no quantizer type for weights is registered in this build";
  const torch::Tensor x = torch::randn({3, 7}, torch::kFloat64);
  data::write_npy(dir_ / "x.npy", x);
  const auto r = run_lowbit("quantize --spec " + type->name + " --in " + quoted(dir_ / "x.npy") +
                            " --out " + quoted(dir_ / "y.npy"));
  ASSERT_EQ(r.code, 0) << r.err;
  const Expected e = library_result(quant::QuantSpec(type->name), x.to(torch::kFloat32));
  EXPECT_TRUE(torch::equal(data::read_npy(dir_ / "y.npy"), e.y));
}

TEST_F(QuantizeTest, PerChannelGivesOneScalePerSliceOfAxisZero) {
  const auto type = weight_type_with("per_channel");
  if (!type) GTEST_SKIP() << "no registered weight quantizer type has a per_channel key";
  const torch::Tensor x =
      torch::randn({3, 4, 2}) * torch::tensor({0.1f, 1.0f, 10.0f}).view({3, 1, 1});
  data::write_npy(dir_ / "x.npy", x);
  const auto r =
      run_lowbit("quantize --per-channel --spec " + type->name + " --in " + quoted(dir_ / "x.npy") +
                 " --out " + quoted(dir_ / "y.npy") + " --scale " + quoted(dir_ / "s.npy") +
                 " --ints " + quoted(dir_ / "q.npy"));
  ASSERT_EQ(r.code, 0) << r.err;
  const torch::Tensor scale = data::read_npy(dir_ / "s.npy");
  ASSERT_EQ(scale.sizes(), torch::IntArrayRef({3}));
  quant::QuantSpec spec(type->name);
  spec.set("per_channel", "1");
  const Expected e = library_result(spec, x);
  EXPECT_TRUE(torch::equal(data::read_npy(dir_ / "y.npy"), e.y));
  EXPECT_TRUE(torch::equal(scale, e.form.scale.to(torch::kFloat32)));
  EXPECT_TRUE(torch::equal(data::read_npy(dir_ / "q.npy").to(torch::kInt32),
                           e.form.codes.to(torch::kInt32)));
}

TEST_F(QuantizeTest, NonFiniteInputNamesFileAndFirstIndex) {
  torch::Tensor x = torch::zeros({2, 3});
  x[1][2] = std::numeric_limits<float>::quiet_NaN();
  x[1][0] = std::numeric_limits<float>::quiet_NaN();
  data::write_npy(dir_ / "nan.npy", x);
  auto r = run_lowbit("quantize --spec uniform --in " + quoted(dir_ / "nan.npy") + " --out " +
                      quoted(dir_ / "y.npy"));
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err.rfind("lowbit: error: '" + (dir_ / "nan.npy") + "'", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("element (1, 0) is nan"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("2 non-finite values"), std::string::npos) << r.err;

  torch::Tensor y = torch::zeros({4});
  y[3] = -std::numeric_limits<float>::infinity();
  data::write_npy(dir_ / "inf.npy", y);
  r = run_lowbit("quantize --spec uniform --in " + quoted(dir_ / "inf.npy") + " --out " +
                 quoted(dir_ / "y.npy"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("element (3) is -inf"), std::string::npos) << r.err;

  data::write_npy(dir_ / "big.npy", torch::tensor({1.0, 1e300}, torch::kFloat64));
  r = run_lowbit("quantize --spec uniform --in " + quoted(dir_ / "big.npy") + " --out " +
                 quoted(dir_ / "y.npy"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("element (1) is inf as float32"), std::string::npos) << r.err;
  EXPECT_FALSE(exists(dir_ / "y.npy"));
}

TEST_F(QuantizeTest, EmptyArrayIsAnErrorNamingTheFile) {
  data::write_npy(dir_ / "empty.npy", torch::zeros({0, 16}));
  const auto r = run_lowbit("quantize --spec uniform --in " + quoted(dir_ / "empty.npy") +
                            " --out " + quoted(dir_ / "y.npy"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("'" + (dir_ / "empty.npy") + "': the array has no elements (shape (0, 16))"),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(exists(dir_ / "y.npy"));
}

// Finite inputs near the float32 limit overflow the scale of some grids (3e38 / 2^-1 steps).
TEST_F(QuantizeTest, NonFiniteResultsAreAnErrorNamingFileAndSpec) {
  data::write_npy(dir_ / "big.npy", torch::tensor({3e38f, -3e38f, 1.0f, 2e38f}));
  for (const std::string spec : {"binary", "sym:bits=4", "uniform:signed=0"}) {
    const auto r =
        run_lowbit("quantize --spec " + spec + " --in " + quoted(dir_ / "big.npy") + " --out " +
                   quoted(dir_ / "y.npy") + " --scale " + quoted(dir_ / "s.npy"));
    EXPECT_EQ(r.code, 1) << spec;
    EXPECT_NE(r.err.find("'" + (dir_ / "big.npy") + "' quantized with SPEC '" + spec),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("non-finite value"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("largest magnitude (3e+38)"), std::string::npos) << r.err;
    EXPECT_FALSE(exists(dir_ / "y.npy"));
    EXPECT_FALSE(exists(dir_ / "s.npy"));
  }
}

// Tiny `quantscale` values (issue 12, defect 11) made the grid's scale overflow for ordinary
// inputs: an error naming the file and SPEC, or below a float's normal range a SPEC error.
TEST_F(QuantizeTest, TinyQuantscaleIsAnErrorNotANonFiniteOutput) {
  data::write_npy(dir_ / "x.npy", torch::tensor({1e30f, -2e30f, 5e29f, 3e30f}));
  for (const std::string spec : {"sym:quantscale=1.2e-38", "fp130:quantscale=1.2e-38"}) {
    const auto r =
        run_lowbit("quantize --spec " + spec + " --in " + quoted(dir_ / "x.npy") + " --out " +
                   quoted(dir_ / "y.npy") + " --scale " + quoted(dir_ / "s.npy"));
    EXPECT_EQ(r.code, 1) << spec;
    EXPECT_NE(r.err.find("'" + (dir_ / "x.npy") + "' quantized with SPEC '" + spec),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("non-finite values"), std::string::npos) << r.err;
    EXPECT_FALSE(exists(dir_ / "y.npy"));
    EXPECT_FALSE(exists(dir_ / "s.npy"));
  }
  const auto subnormal = run_lowbit("quantize --spec sym:quantscale=1e-45 --in " +
                                    quoted(dir_ / "x.npy") + " --out " + quoted(dir_ / "y.npy"));
  EXPECT_EQ(subnormal.code, 1);
  EXPECT_NE(subnormal.err.find("parameter 'quantscale' = '1e-45'"), std::string::npos)
      << subnormal.err;
  EXPECT_NE(subnormal.err.find("normal range"), std::string::npos) << subnormal.err;
  EXPECT_FALSE(exists(dir_ / "y.npy"));
}

TEST_F(QuantizeTest, InputErrorsNameTheFile) {
  auto r = run_lowbit("quantize --spec uniform --in " + quoted(dir_ / "absent.npy") + " --out " +
                      quoted(dir_ / "y.npy"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find((dir_ / "absent.npy") + ": no such file"), std::string::npos) << r.err;

  data::write_npy(dir_ / "ints.npy", torch::ones({3}, torch::kInt32));
  r = run_lowbit("quantize --spec uniform --in " + quoted(dir_ / "ints.npy") + " --out " +
                 quoted(dir_ / "y.npy"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("'" + (dir_ / "ints.npy") + "': expected a float32 or float64 array"),
            std::string::npos)
      << r.err;

  util::write_text_atomically(dir_ / "text.npy", "not numpy at all");
  r = run_lowbit("quantize --spec uniform --in " + quoted(dir_ / "text.npy") + " --out " +
                 quoted(dir_ / "y.npy"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("'" + (dir_ / "text.npy") + "': not a .npy file"), std::string::npos)
      << r.err;
  EXPECT_FALSE(exists(dir_ / "y.npy"));
}

TEST_F(QuantizeTest, SpecErrorsNameTheTypeOrKey) {
  data::write_npy(dir_ / "x.npy", torch::randn({4}));
  const std::string io = " --in " + quoted(dir_ / "x.npy") + " --out " + quoted(dir_ / "y.npy");
  auto r = run_lowbit("quantize --spec no_such_type" + io);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("unknown quantizer type 'no_such_type'"), std::string::npos) << r.err;

  r = run_lowbit("quantize --spec 'uniform:bits'" + io);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("parameter 'bits' is not of the form key=value"), std::string::npos)
      << r.err;

  const auto type = weight_type_with("");
  if (!type) GTEST_SKIP() << "no quantizer type for weights is registered in this build";
  r = run_lowbit("quantize --spec " + type->name + ":zzz_unknown_key=3" + io);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("unknown parameter 'zzz_unknown_key'"), std::string::npos) << r.err;
  EXPECT_FALSE(exists(dir_ / "y.npy"));
}

TEST_F(QuantizeTest, FailedWriteLeavesEveryOutputAsItWas) {
  const auto type = weight_type_with("");
  if (!type) GTEST_SKIP() << "no quantizer type for weights is registered in this build";
  data::write_npy(dir_ / "x.npy", torch::randn({6}));
  util::write_text_atomically(dir_ / "y.npy", "old content");
  const auto r =
      run_lowbit("quantize --spec " + type->name + " --in " + quoted(dir_ / "x.npy") + " --out " +
                 quoted(dir_ / "y.npy") + " --ints " + quoted(dir_ / "q.npy") + " --scale " +
                 quoted(dir_ / "no/such/dir/s.npy"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find(dir_ / "no/such/dir/s.npy"), std::string::npos) << r.err;
  EXPECT_EQ(util::read_file(dir_ / "y.npy"), "old content");
  EXPECT_FALSE(exists(dir_ / "q.npy"));
  EXPECT_EQ(count_entries(dir_.path()), 2) << "staged files were left behind";

  const auto same =
      run_lowbit("quantize --spec " + type->name + " --in " + quoted(dir_ / "x.npy") + " --out " +
                 quoted(dir_ / "y.npy") + " --scale " + quoted(dir_ / "y.npy"));
  EXPECT_EQ(same.code, 1);
  EXPECT_NE(same.err.find("named for two different outputs"), std::string::npos) << same.err;
  EXPECT_EQ(util::read_file(dir_ / "y.npy"), "old content");
}

}  // namespace
}  // namespace lowbit::cli
