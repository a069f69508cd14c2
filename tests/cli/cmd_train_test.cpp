// `lowbit train`, run as a program on a tiny CSV data set.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "cli/run_lowbit.h"
#include "lowbit/util/atomic_file.h"

namespace lowbit::cli {
namespace {

using testing::exists;
using testing::run_lowbit;
using testing::TempDir;

class TrainCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::write_two_class_csv(dir_ / "data.csv");
    write("run.yaml", testing::csv_run_config(dir_ / "out", dir_ / "data.csv",
                                              R"(model: {type: mlp, widths: [4]}
stages:
  - name: fp
    epochs: 2
    batch_size: 16
    optimizer: {type: adam, lr: 0.01}
  - name: w2
    from: fp
    epochs: 1
    batch_size: 16
    optimizer: {type: adam, lr: 0.01}
    quantization: {weights: "uniform:bits=2"}
)"));
  }
  void write(const std::string& name, const std::string& text) {
    util::write_text_atomically(dir_ / name, text);
  }
  TempDir dir_;
};

TEST_F(TrainCommandTest, RunsEveryStageAndWritesResults) {
  const auto r = run_lowbit("train '" + (dir_ / "run.yaml") + "'");
  ASSERT_EQ(r.code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("fp 1/2  lr "), std::string::npos) << r.out;  // plain lines, no bar
  EXPECT_EQ(r.out.find('\r'), std::string::npos);
  EXPECT_NE(r.out.find("Copied: 4  Skipped: 0"), std::string::npos) << r.out;
  EXPECT_TRUE(exists(dir_ / "out/results.md"));
  // Under the table, why a stage has no integer model: the FP stage by design, the quantized one
  // with what it lacks (its input grid).
  const std::string md = util::read_file(dir_ / "out/results.md");
  EXPECT_NE(md.find("no integer model for stage 'fp': it trains in full precision (no "
                    "quantizers)"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("no integer model for stage 'w2': export: layer 'fc1' (the first layer) of "
                    "stage 'w2' has no input quantizer"),
            std::string::npos)
      << md;
  EXPECT_TRUE(exists(dir_ / "out/results.json"));
  EXPECT_TRUE(exists(dir_ / "out/metrics.csv"));
  EXPECT_TRUE(exists(dir_ / "out/w2/best.pt"));
}

TEST_F(TrainCommandTest, SetAndOutOverrideTheConfig) {
  const auto r = run_lowbit("train '" + (dir_ / "run.yaml") + "' --set stages.1.epochs=2 --out '" +
                            (dir_ / "other") + "' --stage fp");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(exists(dir_ / "other/fp/last.pt"));
  EXPECT_FALSE(exists(dir_ / "other/w2"));
  EXPECT_FALSE(exists(dir_ / "out"));
}

TEST_F(TrainCommandTest, ConfigErrorsNameKeyFileAndLine) {
  std::string text = util::read_file(dir_ / "run.yaml");
  text.replace(text.find("    batch_size: 16"), 0, "    batch_sise: 16\n");
  write("bad.yaml", text);
  const auto r = run_lowbit("train '" + (dir_ / "bad.yaml") + "'");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err.rfind("lowbit: error: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("bad.yaml:7:5"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("batch_sise"), std::string::npos);
  const auto missing = run_lowbit("train '" + (dir_ / "run.yaml") + "' --stage w2");
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.err.find("run that stage first"), std::string::npos) << missing.err;
}

// A full disk, simulated by the shell's file size limit (ulimit -f, 512-byte blocks in POSIX sh)
// with SIGXFSZ ignored so that writes fail with EFBIG: the first checkpoint cannot be written.
TEST_F(TrainCommandTest, FullDiskIsAnErrorNamingTheFileAndLeavesNoTemporaries) {
  const std::string command = "trap '' XFSZ; ulimit -f 3; exec '" + testing::lowbit_bin() +
                              "' train '" + (dir_ / "run.yaml") + "' >'" + (dir_ / "stdout") +
                              "' 2>'" + (dir_ / "stderr") + "'";
  const int status = std::system(command.c_str());
  ASSERT_TRUE(WIFEXITED(status)) << "killed by a signal: " << status;
  EXPECT_EQ(WEXITSTATUS(status), 1);
  const std::string err = util::read_file(dir_ / "stderr");
  EXPECT_EQ(err.rfind("lowbit: error: ", 0), 0u) << err;
  EXPECT_NE(err.find("cannot write checkpoint '" + (dir_ / "out/fp/")), std::string::npos) << err;
  EXPECT_NE(err.find("File too large"), std::string::npos) << err;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_.path())) {
    EXPECT_EQ(entry.path().filename().string().find(".tmp."), std::string::npos) << entry.path();
  }
}

}  // namespace
}  // namespace lowbit::cli
