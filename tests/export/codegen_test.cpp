#include "lowbit/export/c/codegen.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "export/random_models.h"
#include "lowbit/util/atomic_file.h"

namespace lowbit::exporter {
namespace {

namespace fs = std::filesystem;

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() /
                       ("lowbit_codegen_test_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

CodegenOptions options_for(const std::string& prefix) {
  CodegenOptions options;
  options.prefix = prefix;
  options.provenance = {"runs/smart_pixel", "2bit", "cafe1234", "2026-11-23T20:00:00Z"};
  return options;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(Codegen, HeaderHasTheInterfaceAndProvenance) {
  const IntegerModel model = testing::random_two_branch(WeightFormat::kInt4, 2);
  const std::string header = generate_header(model, options_for("pixel"));
  EXPECT_TRUE(contains(header, "#define PIXEL_INPUT_SIZE 36\n"));
  EXPECT_TRUE(contains(header, "#define PIXEL_OUTPUT_SIZE 1\n"));
  // Activations 128 (32 + 32 + 64) + fc1's 64 int4 inputs as 2 int16 lanes of 32 (a multiple of
  // 16 already) + 15 slack.
  EXPECT_TRUE(contains(header, "#define PIXEL_SCRATCH_SIZE 271\n"));
  EXPECT_TRUE(contains(header, "#define PIXEL_INPUT_ZERO_POINT (-5)\n"));
  EXPECT_TRUE(contains(header, "#define PIXEL_OUTPUT_ZERO_POINT (-128)\n"));
  EXPECT_TRUE(contains(header,
                       "lowbit_status_t pixel_predict(const int8_t* input, int8_t* "
                       "output, void* scratch);"));
  EXPECT_TRUE(contains(header, "Source run: runs/smart_pixel"));
  EXPECT_TRUE(contains(header, "Stage: 2bit"));
  EXPECT_TRUE(contains(header, "Config hash: cafe1234"));
  EXPECT_TRUE(contains(header, "Date: 2026-11-23T20:00:00Z"));
}

TEST(Codegen, SourceCallsTheRuntimeOperators) {
  const IntegerModel model = testing::random_cnn(WeightFormat::kSym2, 2);
  const std::string source = generate_source(model, options_for("cnn"));
  EXPECT_TRUE(contains(source, "lowbit_conv2d_s8(&cnn_l0_params, input + 0"));
  // The pointwise conv and the max pool reading only it run as one call.
  EXPECT_TRUE(contains(source, "lowbit_conv2d_max_pool_s8(&cnn_l1_params, &cnn_l2_params, "));
  EXPECT_TRUE(contains(source, "Computed by layer 1's lowbit_conv2d_max_pool_s8"));
  EXPECT_FALSE(contains(source, "lowbit_max_pool_s8("));
  EXPECT_TRUE(contains(source, "lowbit_avg_pool_s8(&cnn_l3_params"));
  EXPECT_TRUE(contains(source, "LOWBIT_FORMAT_SYM2"));
  EXPECT_TRUE(contains(source, ", output, arena + "));  // the classifier writes the caller's output
  EXPECT_FALSE(contains(source, "float"));
  EXPECT_FALSE(contains(source, "double"));
}

TEST(Codegen, CommentsCannotBeClosedByNames) {
  IntegerModel model = testing::random_mlp(WeightFormat::kInt8, 2);
  model.layers[0].name = "evil */ int x; /*";
  const std::string source = generate_source(model, options_for("m"));
  EXPECT_FALSE(contains(source, "evil */"));
}

TEST(Codegen, JsonDescribesEveryLayer) {
  const IntegerModel model = testing::random_two_branch(WeightFormat::kBinary, 2);
  const nlohmann::json j = model_json(model, options_for("pixel"));
  EXPECT_EQ(j["input"]["shape"], nlohmann::json::array({36, 1, 1}));
  EXPECT_EQ(j["input"]["zero_point"], -5);
  EXPECT_EQ(j["output"]["zero_point"], -128);
  EXPECT_DOUBLE_EQ(j["output"]["scale"].get<double>(), 1.0 / 255);
  EXPECT_EQ(j["provenance"]["config_hash"], "cafe1234");
  ASSERT_EQ(j["layers"].size(), 7u);
  const nlohmann::json& x_fc = j["layers"][2];
  EXPECT_EQ(x_fc["name"], "x_fc");
  EXPECT_EQ(x_fc["op"], "fully_connected");
  EXPECT_EQ(x_fc["format"], "binary");
  EXPECT_EQ(x_fc["bits"], 1);
  EXPECT_EQ(x_fc["in_features"], 22);
  EXPECT_EQ(x_fc["out_features"], 32);
  EXPECT_EQ(x_fc["weight_bytes"], 32 * 3);
  EXPECT_EQ(x_fc["macs"], 22 * 32);
  EXPECT_EQ(x_fc["multiplier"].size(), 32u);
  EXPECT_EQ(x_fc["per_channel"], true);
  EXPECT_EQ(x_fc["activation"], "relu");
  EXPECT_EQ(j["layers"][4]["op"], "concat");
  EXPECT_EQ(j["layers"][4]["rescale"].size(), 2u);
  EXPECT_EQ(j["layers"][6]["activation"], "hard_sigmoid");
  // Activations 128 + fc1's 64 binary inputs as 8 int16 lanes of 8 (padded to 16) + 15 slack.
  EXPECT_EQ(j["sizes"]["scratch_bytes"], 128 + 8 * 16 * 2 + 15);
}

TEST(ExportModel, WritesAStandaloneFolder) {
  const fs::path dir = fresh_dir("standalone");
  const IntegerModel model = testing::random_mlp(WeightFormat::kInt2, 2);
  const ModelCost cost = export_model(model, (dir / "out").string(), options_for("mlp"));
  EXPECT_GT(cost.flash_bytes, 0);
  for (const char* file : {"model.h", "model.c", "model.json", "runtime/include/lowbit_runtime.h",
                           "runtime/src/fully_connected.c", "runtime/src/requantize.c",
                           "runtime/src/lowbit_internal.h"}) {
    EXPECT_TRUE(fs::is_regular_file(dir / "out" / file)) << file;
  }
  EXPECT_EQ(util::read_file((dir / "out/runtime/src/conv2d.c").string()),
            util::read_file(std::string(LOWBIT_SOURCE_DIR) + "/runtime/src/conv2d.c"));
  // Only the export folder is left: no temporary siblings.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
  fs::remove_all(dir);
}

TEST(ExportModel, FailureLeavesAnEarlierExportUntouched) {
  const fs::path dir = fresh_dir("atomic");
  const IntegerModel model = testing::random_mlp(WeightFormat::kInt8, 2);
  const std::string out = (dir / "out").string();
  export_model(model, out, options_for("first"));
  const std::string before = util::read_file(out + "/model.c");

  IntegerModel bad = model;
  std::get<FullyConnected>(bad.layers[2].op).weights[0] = 100;
  std::get<FullyConnected>(bad.layers[2].op).format = WeightFormat::kInt4;
  EXPECT_THROW(export_model(bad, out, options_for("second")), std::invalid_argument);
  EXPECT_THROW(export_model(model, out, options_for("not an identifier")), std::invalid_argument);
  CodegenOptions missing_runtime = options_for("third");
  missing_runtime.runtime_dir = (dir / "no_runtime").string();
  EXPECT_THROW(export_model(model, out, missing_runtime), util::FileError);
  EXPECT_EQ(util::read_file(out + "/model.c"), before);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);

  // A successful export replaces the old one completely.
  export_model(model, out, options_for("second"));
  EXPECT_TRUE(contains(util::read_file(out + "/model.c"), "second_predict"));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace lowbit::exporter
