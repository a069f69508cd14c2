// A run directory that cannot be written (a read-only mount, another user's runs): every command
// that would write there fails with exit status 1 and an error naming the path, and changes
// nothing there; the commands that only read it keep working (issue 12, read-only behaviour).
// Permissions do not bind root, so as root the commands run as `nobody` (setpriv, no privileges);
// any other user runs them as itself.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "cli/run_lowbit.h"
#include "lowbit/data/files/npy.h"
#include "lowbit/util/atomic_file.h"

namespace lowbit::cli {
namespace {

namespace fs = std::filesystem;
using testing::exists;
using testing::lowbit_bin;
using testing::quoted;
using testing::RunResult;
using testing::TempDir;

// What runs a command without privileges: "" for an ordinary user, setpriv as nobody for root.
std::string unprivileged() {
  return ::geteuid() == 0 ? "setpriv --reuid=65534 --regid=65534 --clear-groups " : "";
}

// Every entry below `dir` with its bytes ("/" for folders), to compare before and after.
std::map<std::string, std::string> snapshot(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    files[entry.path().string()] =
        entry.is_directory() ? std::string("/") : util::read_file(entry.path().string());
  }
  return files;
}

class ReadOnlyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<TempDir>();
    fs::permissions(dir_->path(), fs::perms(0755));  // readable by nobody
    testing::write_two_class_csv(*dir_ / "data.csv");
    util::write_text_atomically(*dir_ / "run.yaml",
                                testing::csv_run_config(*dir_ / "run", *dir_ / "data.csv", R"(
model: {type: mlp, widths: [4]}
stages:
  - name: w4
    epochs: 2
    batch_size: 16
    optimizer: {type: adam, lr: 0.01}
    quantization:
      weights: "sym:bits=4"
      activations: "uniform:bits=8"
      layers:
        - {match: fc1, inputs: "uniform:bits=8"}
        - {match: fc2, outputs: "uniform:bits=8"}
)"));
    data::write_npy(*dir_ / "w.npy", torch::tensor({0.5f, -1.0f, 0.25f}));
    // The run and an earlier export in it are written while the folder is still writable.
    trained_ = testing::run_lowbit("train " + quoted(*dir_ / "run.yaml"));
    exported_ = testing::run_lowbit("export " + quoted(*dir_ / "run") + " --stage w4 --out " +
                                    quoted(*dir_ / "run/export"));
    before_ = snapshot(*dir_ / "run");
    std::system(("chmod -R a-w " + quoted(*dir_ / "run")).c_str());
  }
  static void TearDownTestSuite() {
    std::system(("chmod -R u+w " + quoted(*dir_ / "run")).c_str());
    dir_.reset();
  }
  void SetUp() override {
    ASSERT_EQ(trained_.code, 0) << trained_.err;
    ASSERT_EQ(exported_.code, 0) << exported_.err;
    if (::geteuid() == 0 && std::system("command -v setpriv >/dev/null") != 0) {
      GTEST_SKIP() << "running as root without setpriv: cannot drop the privileges that ignore "
                      "file permissions";
    }
    // Permissions must bind whoever runs the commands (not so with CAP_DAC_OVERRIDE).
    const std::string probe = *dir_ / "run/probe";
    if (std::system((unprivileged() + "touch " + quoted(probe) + " 2>/dev/null").c_str()) == 0) {
      std::remove(probe.c_str());
      GTEST_SKIP() << "this user can write into a folder without write permission";
    }
  }
  // `lowbit ARGS` run without privileges; its output goes to files outside the run.
  static RunResult run_unprivileged(const std::string& args) {
    TempDir io;
    const std::string command = unprivileged() + quoted(lowbit_bin()) + " " + args + " >" +
                                quoted(io / "out") + " 2>" + quoted(io / "err");
    const int status = std::system(command.c_str());
    RunResult r;
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = util::read_file(io / "out");
    r.err = util::read_file(io / "err");
    return r;
  }
  // A refused write: exit status 1, "lowbit: error: " naming `path`, the run as it was.
  void expect_refused(const std::string& args, const std::string& path) {
    const RunResult r = run_unprivileged(args);
    EXPECT_EQ(r.code, 1) << args << "\n" << r.err;
    EXPECT_EQ(r.err.rfind("lowbit: error: ", 0), 0u) << r.err;
    EXPECT_NE(r.err.find(path), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("Permission denied"), std::string::npos) << r.err;
    EXPECT_EQ(snapshot(*dir_ / "run"), before_) << args << " changed the read-only run";
  }

  static std::unique_ptr<TempDir> dir_;
  static RunResult trained_;
  static RunResult exported_;
  static std::map<std::string, std::string> before_;
};

std::unique_ptr<TempDir> ReadOnlyTest::dir_;
RunResult ReadOnlyTest::trained_;
RunResult ReadOnlyTest::exported_;
std::map<std::string, std::string> ReadOnlyTest::before_;

TEST_F(ReadOnlyTest, TrainingIntoTheRunOrBelowItIsRefused) {
  const std::string run = *dir_ / "run";
  expect_refused("train " + quoted(*dir_ / "run.yaml") + " --resume", run + "/config.yaml");
  expect_refused("train " + quoted(*dir_ / "run.yaml"), run + "/config.yaml");
  expect_refused("train " + quoted(*dir_ / "run.yaml") + " --out " + quoted(run + "/again"),
                 run + "/again");
  EXPECT_FALSE(exists(run + "/again"));
}

TEST_F(ReadOnlyTest, ExportIntoTheRunIsRefusedAndTheEarlierExportKept) {
  const std::string run = *dir_ / "run";
  expect_refused("export " + quoted(run) + " --stage w4 --out " + quoted(run + "/export2"), run);
  expect_refused(
      "export " + quoted(run) + " --stage w4 --out " + quoted(run + "/export") + " --prefix other",
      run);
  EXPECT_NE(util::read_file(run + "/export/model.h").find("model_predict"), std::string::npos);
}

TEST_F(ReadOnlyTest, QuantizeIntoTheRunIsRefused) {
  const std::string run = *dir_ / "run";
  expect_refused("quantize --spec sym:bits=2 --in " + quoted(*dir_ / "w.npy") + " --out " +
                     quoted(run + "/w_q.npy"),
                 run + "/w_q.npy");
}

TEST_F(ReadOnlyTest, ReadingCommandsStillWork) {
  const std::string run = *dir_ / "run";
  const RunResult size = run_unprivileged("size " + quoted(run) + " --stage w4");
  EXPECT_EQ(size.code, 0) << size.err;
  EXPECT_NE(size.out.find("total: 22 parameters"), std::string::npos) << size.out;
  const RunResult verify =
      run_unprivileged("verify " + quoted(run + "/export") + " --run " + quoted(run));
  EXPECT_EQ(verify.code, 0) << verify.err;
  EXPECT_NE(verify.out.find("mismatches (C vs C++ reference): 0 of"), std::string::npos)
      << verify.out;
  EXPECT_EQ(snapshot(run), before_);
}

}  // namespace
}  // namespace lowbit::cli
