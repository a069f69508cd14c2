// End to end: export random models for every weight format, compile the C with cc, run it and
// compare with the C++ reference executor exactly.
#include "lowbit/export/c/c_build.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <tuple>

#include "export/random_models.h"
#include "lowbit/export/c/codegen.h"
#include "lowbit/export/reference_executor.h"
#include "lowbit/util/atomic_file.h"

namespace lowbit::exporter {
namespace {

namespace fs = std::filesystem;

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() /
                       ("lowbit_c_build_test_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

using ModelMaker = IntegerModel (*)(WeightFormat, uint32_t);

class ExportMatchesReference
    : public ::testing::TestWithParam<std::tuple<const char*, WeightFormat>> {};

TEST_P(ExportMatchesReference, ZeroMismatches) {
  const auto [model_name, format] = GetParam();
  const std::string kind(model_name);
  const ModelMaker make = kind == "mlp"          ? &testing::random_mlp
                          : kind == "wide_mlp"   ? &testing::random_wide_mlp
                          : kind == "two_branch" ? &testing::random_two_branch
                          : kind == "residual"   ? &testing::random_residual
                          : kind == "spiking"    ? &testing::random_spiking
                                                 : &testing::random_cnn;
  const IntegerModel model = make(format, 1234 + static_cast<uint32_t>(format));
  const std::string tag = kind + "_" + format_name(format);
  const fs::path dir = fresh_dir(tag);
  CodegenOptions options;
  options.prefix = "net";
  options.provenance = {"runs/test", "stage_" + tag, "abc123", "2026-11-23"};
  export_model(model, (dir / "export").string(), options);

  const ReferenceExecutor reference(model);
  const int64_t samples = 62;
  const std::vector<int8_t> inputs =
      testing::random_inputs(reference.input_size(), samples, 99 + static_cast<uint32_t>(format));
  const VerifyReport report = verify_export(model, (dir / "export").string(), "net", inputs,
                                            samples + 2, (dir / "build").string());
  EXPECT_EQ(report.samples, samples + 2);
  EXPECT_EQ(report.values, (samples + 2) * reference.output_size());
  EXPECT_TRUE(report.ok()) << report.describe();

  // The outputs are not degenerate: the random data exercises more than one output value.
  const std::vector<int8_t> outputs = reference.run_batch(inputs, samples + 2);
  std::set<int> distinct(outputs.begin(), outputs.end());
  EXPECT_GT(distinct.size(), 2u) << tag;
  fs::remove_all(dir);
}

std::string param_name(
    const ::testing::TestParamInfo<std::tuple<const char*, WeightFormat>>& info) {
  return std::string(std::get<0>(info.param)) + "_" + format_name(std::get<1>(info.param));
}

INSTANTIATE_TEST_SUITE_P(AllModelsAllFormats, ExportMatchesReference,
                         ::testing::Combine(::testing::Values("mlp", "wide_mlp", "two_branch",
                                                              "cnn", "residual", "spiking"),
                                            ::testing::ValuesIn(kAllWeightFormats)),
                         param_name);

TEST(CompareOutputs, ReportsEveryMismatchWithSampleAndIndex) {
  const std::vector<int8_t> expected = {1, 2, 3, 4, 5, 6};
  const std::vector<int8_t> actual = {1, 0, 3, 4, 5, -6};
  const VerifyReport report = compare_outputs(expected, actual, 3);
  EXPECT_EQ(report.samples, 2);
  ASSERT_EQ(report.mismatches.size(), 2u);
  EXPECT_EQ(report.mismatches[0].sample, 0);
  EXPECT_EQ(report.mismatches[0].index, 1);
  EXPECT_EQ(report.mismatches[0].expected, 2);
  EXPECT_EQ(report.mismatches[0].actual, 0);
  EXPECT_EQ(report.mismatches[1].sample, 1);
  EXPECT_EQ(report.mismatches[1].index, 2);
  EXPECT_NE(report.describe().find("sample 1 index 2: expected 6, got -6"), std::string::npos);
  EXPECT_THROW(compare_outputs(expected, {1, 2}, 3), std::invalid_argument);
}

TEST(VerifyExport, FindsEveryDifferenceFromAnotherModel) {
  const IntegerModel exported = testing::random_mlp(WeightFormat::kInt4, 8);
  IntegerModel changed = exported;
  // Shifting the last layer's output zero point moves every unsaturated output by one.
  changed.layers.back().output_zero_point += 1;
  const fs::path dir = fresh_dir("differs");
  CodegenOptions options;
  export_model(exported, (dir / "export").string(), options);
  const std::vector<int8_t> inputs = testing::random_inputs(33, 30, 4);
  const VerifyReport same = verify_export(exported, (dir / "export").string(), "model", inputs, 32,
                                          (dir / "build").string());
  EXPECT_TRUE(same.ok()) << same.describe();
  const VerifyReport report = verify_export(changed, (dir / "export").string(), "model", inputs, 32,
                                            (dir / "build").string());
  const std::vector<int8_t> expected = ReferenceExecutor(changed).run_batch(inputs, 32);
  int64_t unsaturated = 0;
  for (int8_t value : expected) unsaturated += value != -128 ? 1 : 0;
  EXPECT_GT(unsaturated, 0);
  EXPECT_EQ(static_cast<int64_t>(report.mismatches.size()), unsaturated) << report.describe();
  for (const Mismatch& m : report.mismatches) EXPECT_EQ(m.expected, m.actual + 1);
  fs::remove_all(dir);
}

TEST(BuildExport, CompilerErrorsAreReportedWithTheCompilerOutput) {
  const IntegerModel model = testing::random_mlp(WeightFormat::kInt8, 5);
  const fs::path dir = fresh_dir("broken");
  CodegenOptions options;
  export_model(model, (dir / "export").string(), options);
  // A driver for another prefix calls a function the export does not define.
  try {
    build_export((dir / "export").string(), "other", (dir / "build").string());
    FAIL() << "expected a compile error";
  } catch (const util::FileError& error) {
    EXPECT_NE(std::string(error.what()).find("OTHER_SCRATCH_SIZE"), std::string::npos)
        << error.what();
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace lowbit::exporter
