// `lowbit train` stopped the ways a user's machine stops it: killed by a signal inside a
// checkpoint write, `kill -9` in the middle of a stage, Ctrl-C. Earlier checkpoints stay intact,
// and `--resume` removes the temporaries of the killed process and finishes the run (issue 12:
// defects 2, 5 and 18, run as programs).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "cli/run_lowbit.h"
#include "lowbit/util/atomic_file.h"

extern char** environ;

namespace lowbit::cli {
namespace {

namespace fs = std::filesystem;
using testing::exists;
using testing::lowbit_bin;
using testing::quoted;
using testing::run_lowbit;
using testing::TempDir;

/// `lowbit ARGS` started in the background with stdout and stderr in files, so that the test can
/// signal it by its pid; killed with SIGKILL if the test ends before waiting for it.
class Child {
 public:
  /// Starts the binary; ok() tells whether it started.
  Child(const std::vector<std::string>& args, const std::string& out, const std::string& err) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::vector<std::string> all = {lowbit_bin()};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    ok_ = ::posix_spawn(&pid_, all[0].c_str(), &actions, nullptr, argv.data(), environ) == 0;
    posix_spawn_file_actions_destroy(&actions);
  }
  /// Kills and reaps a child the test did not wait for.
  ~Child() {
    if (ok_ && !done_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  /// Whether the process started.
  bool ok() const { return ok_; }
  /// Its pid.
  pid_t pid() const { return pid_; }
  /// True once it has ended (reaped here; status() then holds its wait status).
  bool ended() {
    if (!done_ && ::waitpid(pid_, &status_, WNOHANG) == pid_) done_ = true;
    return done_;
  }
  /// Waits for it to end and returns its wait status.
  int wait() {
    if (!done_ && ::waitpid(pid_, &status_, 0) == pid_) done_ = true;
    return status_;
  }

 private:
  pid_t pid_ = -1;
  bool ok_ = false;
  bool done_ = false;
  int status_ = 0;
};

/// Waits until `path` exists while `child` runs; false if the child ended first or 120 s passed.
bool wait_for_file(const std::string& path, Child& child) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < until) {
    if (exists(path)) return true;
    if (child.ended()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return false;
}

/// Every file below `dir` named like an atomic-write temporary, "<name>.tmp.<digits>".
std::vector<std::string> temporaries(const std::string& dir) {
  static const std::regex temp(R"(.*\.tmp\.[0-9]+)");
  std::vector<std::string> found;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (std::regex_match(entry.path().filename().string(), temp)) {
      found.push_back(entry.path().string());
    }
  }
  return found;
}

class InterruptedRunTest : public ::testing::Test {
 protected:
  void SetUp() override { testing::write_two_class_csv(dir_ / "data.csv"); }
  // fp, then a quantized stage `w2` with sym weights (one of the grids whose --resume used to
  // fail) of `epochs` epochs; its integer model exports, so `lowbit size` can load it afterwards.
  void write_config(int epochs) {
    util::write_text_atomically(dir_ / "run.yaml",
                                testing::csv_run_config(out(), dir_ / "data.csv", R"(
model: {type: mlp, widths: [4]}
stages:
  - name: fp
    epochs: 2
    batch_size: 16
    optimizer: {type: adam, lr: 0.01}
  - name: w2
    from: fp
    epochs: )" + std::to_string(epochs) + R"(
    batch_size: 16
    optimizer: {type: adam, lr: 0.01}
    quantization:
      weights: "sym:bits=2"
      activations: "uniform:bits=8"
      layers:
        - {match: fc1, inputs: "uniform:bits=8"}
        - {match: fc2, outputs: "uniform:bits=8"}
)"));
  }
  std::string out() const { return dir_ / "out"; }
  std::string config() const { return dir_ / "run.yaml"; }
  // The resumed run must end with every stage done and loadable and no temporaries anywhere.
  void expect_finished(const testing::RunResult& resumed, int w2_epochs) {
    EXPECT_EQ(resumed.code, 0) << resumed.err << resumed.out;
    EXPECT_NE(resumed.out.find("stage 'fp': already completed, skipped"), std::string::npos)
        << resumed.out;
    EXPECT_TRUE(temporaries(dir_.path()).empty()) << temporaries(dir_.path())[0];
    const std::string result = util::read_file(out() + "/w2/result.json");
    EXPECT_NE(result.find("\"completed\": true"), std::string::npos) << result;
    EXPECT_NE(result.find("\"epochs\": " + std::to_string(w2_epochs)), std::string::npos) << result;
    // `lowbit size` rebuilds the stage from best.pt, whose SHA-256 it checks.
    const auto size = run_lowbit("size " + quoted(out()) + " --stage w2");
    EXPECT_EQ(size.code, 0) << size.err;
  }
  TempDir dir_;
};

TEST_F(InterruptedRunTest, ASignalInsideACheckpointWriteLeavesATemporaryThatResumeRemoves) {
  write_config(3);
  ASSERT_EQ(run_lowbit("train " + quoted(config()) + " --stage fp").code, 0);
  const std::string fp_best = util::read_file(out() + "/fp/best.pt");
  const std::string fp_last = util::read_file(out() + "/fp/last.pt");

  // A file size limit of 3 x 512 bytes with SIGXFSZ left at its default action: the kernel ends
  // the process inside the write of w2's first checkpoint, where no handler or destructor runs,
  // as with kill -9 at that moment (exec keeps the pid, so the status is lowbit's own).
  const int status = std::system(("ulimit -c 0; ulimit -f 3; exec " + quoted(lowbit_bin()) +
                                  " train " + quoted(config()) + " --resume >" +
                                  quoted(dir_ / "stdout") + " 2>" + quoted(dir_ / "stderr"))
                                     .c_str());
  ASSERT_TRUE(WIFSIGNALED(status))
      << "status " << status << ": " << util::read_file(dir_ / "stderr");
  EXPECT_EQ(WTERMSIG(status), SIGXFSZ);
  const std::vector<std::string> left = temporaries(dir_.path());
  ASSERT_EQ(left.size(), 1u) << "expected the killed write's temporary";
  EXPECT_EQ(fs::path(left[0]).parent_path().string(), out() + "/w2");
  EXPECT_EQ(fs::file_size(left[0]), 1536u);  // cut at the limit
  EXPECT_FALSE(exists(out() + "/w2/best.pt"));
  EXPECT_EQ(util::read_file(out() + "/fp/best.pt"), fp_best);
  EXPECT_EQ(util::read_file(out() + "/fp/last.pt"), fp_last);

  const auto resumed = run_lowbit("train " + quoted(config()) + " --resume");
  EXPECT_NE(resumed.out.find("removed '" + left[0] + "', left by an interrupted save"),
            std::string::npos)
      << resumed.out;
  expect_finished(resumed, 3);
  EXPECT_EQ(util::read_file(out() + "/fp/best.pt"), fp_best);
}

TEST_F(InterruptedRunTest, KillNineInTheMiddleOfAStageThenResumeFinishesIt) {
  const int epochs = 120;
  write_config(epochs);
  Child child({"train", config()}, dir_ / "stdout", dir_ / "stderr");
  ASSERT_TRUE(child.ok());
  // w2's first epoch is saved: the run is inside its quantized stage.
  ASSERT_TRUE(wait_for_file(out() + "/w2/last.pt", child)) << util::read_file(dir_ / "stderr");
  ASSERT_EQ(::kill(child.pid(), SIGKILL), 0);
  const int status = child.wait();
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "the run ended before it was killed: status " << status;
  EXPECT_FALSE(exists(out() + "/w2/result.json"));

  const auto resumed = run_lowbit("train " + quoted(config()) + " --resume");
  std::smatch match;
  ASSERT_TRUE(std::regex_search(resumed.out, match,
                                std::regex("stage 'w2': resuming after epoch ([0-9]+)")))
      << resumed.err << resumed.out;
  const int saved = std::stoi(match[1]);
  EXPECT_GE(saved, 1);
  EXPECT_LT(saved, epochs);
  expect_finished(resumed, epochs);
}

TEST_F(InterruptedRunTest, CtrlCSavesTheEpochAndResumeContinuesTheQuantizedStage) {
  const int epochs = 120;
  write_config(epochs);
  Child child({"train", config()}, dir_ / "stdout", dir_ / "stderr");
  ASSERT_TRUE(child.ok());
  ASSERT_TRUE(wait_for_file(out() + "/w2/last.pt", child)) << util::read_file(dir_ / "stderr");
  ASSERT_EQ(::kill(child.pid(), SIGINT), 0);
  const int status = child.wait();
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 1);
  const std::string err = util::read_file(dir_ / "stderr");
  std::smatch match;
  ASSERT_TRUE(std::regex_search(
      err, match, std::regex("^lowbit: error: stage 'w2' interrupted after epoch ([0-9]+)")))
      << err;
  const std::string saved = match[1];
  EXPECT_TRUE(temporaries(dir_.path()).empty());

  const auto resumed = run_lowbit("train " + quoted(config()) + " --resume");
  EXPECT_NE(resumed.out.find("stage 'w2': resuming after epoch " + saved + " from "),
            std::string::npos)
      << resumed.err << resumed.out;
  expect_finished(resumed, epochs);
}

}  // namespace
}  // namespace lowbit::cli
