// `lowbit compare`, `quant-info` and `flow-image`, run as programs on a run trained once on a
// tiny CSV set: an FP stage and a 4-bit stage from it; a 2-bit stage is configured but untrained.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "cli/run_lowbit.h"
#include "lowbit/data/files/npy.h"
#include "lowbit/train/checkpoint/checkpoint.h"
#include "lowbit/util/atomic_file.h"

namespace lowbit::cli {
namespace {

using testing::csv_run_config;
using testing::exists;
using testing::run_lowbit;
using testing::TempDir;
using testing::write_three_class_csv;

// The rows of a CSV file without quoted cells, by the value of its first column.
std::map<std::string, std::map<std::string, std::string>> read_csv(const std::string& path) {
  std::istringstream in(util::read_file(path));
  auto split = [](const std::string& line) {
    std::vector<std::string> cells;
    std::stringstream s(line);
    std::string cell;
    while (std::getline(s, cell, ',')) cells.push_back(cell);
    if (!line.empty() && line.back() == ',') cells.emplace_back();
    return cells;
  };
  std::string line;
  std::getline(in, line);
  const std::vector<std::string> header = split(line);
  std::map<std::string, std::map<std::string, std::string>> rows;
  while (std::getline(in, line)) {
    const std::vector<std::string> cells = split(line);
    for (size_t i = 0; i < header.size() && i < cells.size(); ++i) {
      rows[cells[0]][header[i]] = cells[i];
    }
  }
  return rows;
}

class CompareCommandTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<TempDir>();
    write_three_class_csv(*dir_ / "data.csv");
    util::write_text_atomically(*dir_ / "run.yaml",
                                csv_run_config(*dir_ / "run", *dir_ / "data.csv", R"(
model: {type: mlp, widths: [8]}
stages:
  - name: fp
    epochs: 2
    batch_size: 16
    optimizer: {type: adam, lr: 0.02}
  - name: w4a8
    from: fp
    epochs: 2
    batch_size: 16
    optimizer: {type: adam, lr: 0.01}
    quantization:
      weights: "uniform:bits=4"
      activations: "uniform:bits=8"
      layers:
        - {match: fc1, inputs: "uniform:bits=8"}
  - name: w2
    from: w4a8
    epochs: 1
    optimizer: {type: adam, lr: 0.01}
    quantization: {weights: "uniform:bits=2"}
)"));
    fp_ = run_lowbit("train '" + (*dir_ / "run.yaml") + "' --stage fp");
    w4_ = run_lowbit("train '" + (*dir_ / "run.yaml") + "' --stage w4a8");
  }
  static void TearDownTestSuite() { dir_.reset(); }

  void SetUp() override {
    ASSERT_EQ(fp_.code, 0) << fp_.err << fp_.out;
    ASSERT_EQ(w4_.code, 0) << w4_.err << w4_.out;
  }

  static std::string run() { return "'" + (*dir_ / "run") + "'"; }

  static std::unique_ptr<TempDir> dir_;
  static testing::RunResult fp_, w4_;
};

std::unique_ptr<TempDir> CompareCommandTest::dir_;
testing::RunResult CompareCommandTest::fp_;
testing::RunResult CompareCommandTest::w4_;

TEST_F(CompareCommandTest, MaeAgainstItselfIsZeroAndAgainstAnotherStageAsComputed) {
  const auto r = run_lowbit("compare " + run() + " --stages fp,w4a8 --csv '" + (*dir_ / "cmp.csv") +
                            "' --outputs '" + (*dir_ / "outputs") + "'");
  ASSERT_EQ(r.code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("against stage 'fp'"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("MAE"), std::string::npos) << r.out;
  auto rows = read_csv(*dir_ / "cmp.csv");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(std::stod(rows["fp"]["mae"]), 0.0);
  EXPECT_EQ(std::stod(rows["fp"]["mse"]), 0.0);
  EXPECT_EQ(rows["fp"]["reference"], "fp");
  EXPECT_EQ(rows["fp"]["values"], "90");  // 30 test samples, 3 outputs
  const double mae = std::stod(rows["w4a8"]["mae"]);
  const double mse = std::stod(rows["w4a8"]["mse"]);
  EXPECT_GT(mae, 0.0);

  // The same numbers by hand from the saved outputs.
  const torch::Tensor fp = data::read_npy(*dir_ / "outputs/fp.npy");
  const torch::Tensor w4 = data::read_npy(*dir_ / "outputs/w4a8.npy");
  ASSERT_EQ(fp.sizes(), (std::vector<int64_t>{30, 3}));
  ASSERT_EQ(w4.sizes(), fp.sizes());
  double abs_sum = 0.0, sq_sum = 0.0;
  for (int64_t i = 0; i < 30; ++i) {
    for (int64_t j = 0; j < 3; ++j) {
      const double d = static_cast<double>(w4[i][j].item<float>()) - fp[i][j].item<float>();
      abs_sum += std::fabs(d);
      sq_sum += d * d;
    }
  }
  EXPECT_NEAR(mae, abs_sum / 90.0, 1e-12 * mae);
  EXPECT_NEAR(mse, sq_sum / 90.0, 1e-12 * mse);

  // The stage's own metric is the one training measured on the same set.
  for (const std::string stage : {"fp", "w4a8"}) {
    const auto result =
        nlohmann::json::parse(util::read_file(*dir_ / ("run/" + stage + "/result.json")));
    EXPECT_DOUBLE_EQ(std::stod(rows[stage]["accuracy"]), result.at("accuracy").get<double>())
        << stage;
    EXPECT_EQ(rows[stage]["bits"], result.at("bits").get<std::string>()) << stage;
  }

  // Against the 4-bit stage the roles swap: the same MAE for fp, 0 for w4a8.
  const auto swapped =
      run_lowbit("compare " + run() + " --stages fp,w4a8 --reference w4a8 --csv '" +
                 (*dir_ / "swapped.csv") + "'");
  ASSERT_EQ(swapped.code, 0) << swapped.err;
  rows = read_csv(*dir_ / "swapped.csv");
  EXPECT_EQ(std::stod(rows["w4a8"]["mae"]), 0.0);
  EXPECT_NEAR(std::stod(rows["fp"]["mae"]), mae, 1e-15);
}

TEST_F(CompareCommandTest, UnknownAndUntrainedStagesAreNamed) {
  const auto unknown = run_lowbit("compare " + run() + " --stages fp,w3");
  EXPECT_EQ(unknown.code, 1);
  EXPECT_NE(unknown.err.find("has no stage 'w3'"), std::string::npos) << unknown.err;
  EXPECT_NE(unknown.err.find(*dir_ / "run"), std::string::npos) << unknown.err;
  EXPECT_NE(unknown.err.find("fp, w4a8, w2"), std::string::npos) << unknown.err;

  const auto untrained = run_lowbit("compare " + run() + " --stages fp,w2");
  EXPECT_EQ(untrained.code, 1);
  EXPECT_NE(untrained.err.find("stage 'w2' of run '" + (*dir_ / "run") + "' is not trained"),
            std::string::npos)
      << untrained.err;
  EXPECT_TRUE(untrained.out.empty()) << untrained.out;

  const auto twice = run_lowbit("compare " + run() + " --stages fp,fp");
  EXPECT_EQ(twice.code, 1);
  EXPECT_NE(twice.err.find("'fp' is listed twice"), std::string::npos) << twice.err;
  const auto not_a_run = run_lowbit("compare '" + dir_->path() + "'");
  EXPECT_EQ(not_a_run.code, 1);
  EXPECT_NE(not_a_run.err.find("not a run directory"), std::string::npos) << not_a_run.err;
}

TEST_F(CompareCommandTest, QuantInfoEqualsTheCheckpoint) {
  const std::string out = *dir_ / "quant.json";
  const auto r = run_lowbit("quant-info " + run() + " --stage w4a8 --weights --out '" + out + "'");
  ASSERT_EQ(r.code, 0) << r.err << r.out;
  const auto info = nlohmann::json::parse(util::read_file(out));
  EXPECT_EQ(info.at("stage"), "w4a8");
  const train::Checkpoint checkpoint = train::load_checkpoint(*dir_ / "run/w4a8/best.pt");
  const auto& layers = info.at("layers");
  ASSERT_GE(layers.size(), 2u) << info.dump(1);  // fc1, fc2 and any activation layers
  int compared = 0;
  bool saw_ema = false;
  for (const auto& layer : layers) {
    for (const auto& q : layer.at("quantizers")) {
      for (const auto& [key, value] : q.at("state").items()) {
        const std::string name = q.at("module").get<std::string>() + "." + key;
        ASSERT_TRUE(checkpoint.model.contains(name)) << name;
        const torch::Tensor saved = checkpoint.model[name].to(torch::kFloat64).reshape({-1});
        const auto flat = value.is_array() ? value : nlohmann::json::array({value});
        ASSERT_EQ(static_cast<int64_t>(flat.size()), saved.numel()) << name;
        for (int64_t i = 0; i < saved.numel(); ++i) {
          EXPECT_EQ(flat[static_cast<size_t>(i)].get<double>(), saved[i].item<double>()) << name;
        }
        ++compared;
      }
      if (q.contains("ema")) {
        saw_ema = true;
        const std::string module = q.at("module").get<std::string>();
        EXPECT_EQ(q.at("ema").at("min").get<double>(),
                  checkpoint.model[module + ".estimator.min_val"].item<double>());
        EXPECT_EQ(q.at("ema").at("max").get<double>(),
                  checkpoint.model[module + ".estimator.max_val"].item<double>());
      }
      if (q.at("slot") == "weights") {
        EXPECT_EQ(q.at("bits"), 4);
        // Codes on the 4-bit grid: the weight's shape, within the code range.
        const std::string weight = layer.at("name").get<std::string>() + ".weight";
        ASSERT_EQ(q.at("codes").size(), static_cast<size_t>(checkpoint.model[weight].size(0)));
        for (const auto& row : q.at("codes")) {
          for (const auto& code : row) {
            EXPECT_GE(code.get<int>(), q.at("code_min").get<int>());
            EXPECT_LE(code.get<int>(), q.at("code_max").get<int>());
          }
        }
      }
    }
  }
  EXPECT_GT(compared, 0);
  EXPECT_TRUE(saw_ema) << info.dump(1);

  const auto untrained = run_lowbit("quant-info " + run() + " --stage w2");
  EXPECT_EQ(untrained.code, 1);
  EXPECT_NE(untrained.err.find("stage 'w2'"), std::string::npos) << untrained.err;
}

TEST_F(CompareCommandTest, FlowImageRefusesAClassificationRun) {
  const auto r =
      run_lowbit("flow-image " + run() + " --stage fp --samples 0 --out '" + (*dir_ / "img") + "'");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("is not a flow run"), std::string::npos) << r.err;
  EXPECT_FALSE(exists(*dir_ / "img"));
}

}  // namespace
}  // namespace lowbit::cli
