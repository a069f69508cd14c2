// `lowbit train` as a data-parallel job: --nproc, the torchrun environment, rank 0 as the only
// writer, and a killed worker ending the job with a non-zero exit.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <sstream>
#include <thread>

#include "cli/run_lowbit.h"
#include "lowbit/util/atomic_file.h"

namespace lowbit::cli::testing {
namespace {

// A port nothing listens on now (the kernel's pick for a socket closed at once).
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t length = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length);
  ::close(fd);
  return ntohs(addr.sin_port);
}

class DistTrainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    write_two_class_csv(dir_ / "data.csv", 200);
    util::write_text_atomically(dir_ / "run.yaml", csv_run_config(dir_ / "out", dir_ / "data.csv",
                                                                  R"(model: {type: mlp, widths: [8]}
stages:
  - name: w4
    epochs: 2
    batch_size: 8
    optimizer: {type: sgd, lr: 0.05, momentum: 0.9}
    quantization: {weights: "lsq:bits=4", activations: "uniform:bits=8,scale=ema"}
)"));
  }
  TempDir dir_;
};

TEST_F(DistTrainTest, NprocTrainsAndRank0Writes) {
  const auto r = run_lowbit("train '" + (dir_ / "run.yaml") + "' --nproc 2 --no-report");
  ASSERT_EQ(r.code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("2 ranks, gradient and buffer allreduce"), std::string::npos) << r.out;
  EXPECT_TRUE(exists(dir_ / "out/results.md"));
  EXPECT_TRUE(exists(dir_ / "out/w4/best.pt"));
  // One line per epoch: rank 1 wrote none.
  const std::string csv = util::read_file(dir_ / "out/metrics.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 3) << csv;
  // Resume on both ranks from the same (complete) run: nothing left to do.
  const auto again =
      run_lowbit("train '" + (dir_ / "run.yaml") + "' --nproc 2 --resume --no-report");
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_NE(again.out.find("already completed"), std::string::npos) << again.out;
}

TEST_F(DistTrainTest, OnlyRank0WritesUnderTheTorchrunEnvironment) {
  // Each rank is told a different --out: whatever rank 1 wrote would appear in its own folder.
  const std::string env =
      "WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(free_port()) +
      " LOWBIT_DIST_CONNECT_TIMEOUT_S=30 ";
  const std::string train =
      "'" + lowbit_bin() + "' train '" + (dir_ / "run.yaml") + "' --no-report";
  const std::string command = "(" + env + "RANK=1 " + train + " --out '" + (dir_ / "rank1") +
                              "' >'" + (dir_ / "rank1.log") + "' 2>&1 & " + env + "RANK=0 " +
                              train + " --out '" + (dir_ / "rank0") + "' >'" +
                              (dir_ / "rank0.log") + "' 2>&1; r0=$?; wait $!; r1=$?; " +
                              "test $r0 = 0 && test $r1 = 0)";
  ASSERT_EQ(std::system(command.c_str()), 0)
      << util::read_file(dir_ / "rank0.log") << util::read_file(dir_ / "rank1.log");
  EXPECT_TRUE(exists(dir_ / "rank0/w4/best.pt"));
  EXPECT_TRUE(exists(dir_ / "rank0/metrics.csv"));
  EXPECT_FALSE(exists(dir_ / "rank1")) << "rank 1 wrote files";
  EXPECT_EQ(util::read_file(dir_ / "rank1.log"), "");  // rank 1 prints errors only
}

TEST_F(DistTrainTest, KilledWorkerEndsTheJob) {
  const std::string log = dir_ / "launcher.log";
  const std::string command = "'" + lowbit_bin() + "' train '" + (dir_ / "run.yaml") +
                              "' --nproc 2 --no-report --set stages.0.epochs=1000 >'" + log +
                              "' 2>&1 & echo $! >'" + (dir_ / "pid") + "'; wait $!; echo $? >'" +
                              (dir_ / "code") + "'";
  std::thread job([&] { std::system(command.c_str()); });
  // On every path the job ends and the thread is joined (a joinable thread would terminate): a
  // launcher still running after a failed assertion is killed, its workers die with it.
  struct Joiner {
    std::thread& t;
    std::string dir;
    ~Joiner() {
      if (!exists(dir + "/code") && exists(dir + "/pid")) {
        ::kill(std::stoi(util::read_file(dir + "/pid")), SIGKILL);
      }
      if (t.joinable()) t.join();
    }
  } joiner{job, dir_.path()};
  // Wait for the first epoch (rank 0's metrics.csv), then kill rank 1.
  const auto start = std::chrono::steady_clock::now();
  while (!exists(dir_ / "out/metrics.csv") &&
         std::chrono::steady_clock::now() - start < std::chrono::seconds(30)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  // The launcher's children in start order: rank 0, rank 1.
  const std::string launcher = util::read_file(dir_ / "pid");
  const std::string pid = launcher.substr(0, launcher.find('\n'));
  std::istringstream children(util::read_file("/proc/" + pid + "/task/" + pid + "/children"));
  pid_t rank0 = 0, rank1 = 0;
  children >> rank0 >> rank1;
  ASSERT_GT(rank1, 0) << "no second worker of launcher " << pid;
  const auto killed = std::chrono::steady_clock::now();
  ASSERT_EQ(::kill(rank1, SIGKILL), 0);
  job.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count();
  const std::string code = util::read_file(dir_ / "code");
  EXPECT_NE(code, "0\n");
  EXPECT_EQ(code, "137\n");
  EXPECT_LT(seconds, 10.0);
  EXPECT_NE(util::read_file(log).find("worker rank 1 of 2 was killed by signal"), std::string::npos)
      << util::read_file(log);
}

TEST_F(DistTrainTest, DeviceCudaWithoutAGpuFailsBeforeWriting) {
  if (std::getenv("CUDA_VISIBLE_DEVICES") != nullptr) GTEST_SKIP() << "a GPU machine";
  const auto r = run_lowbit("train '" + (dir_ / "run.yaml") + "' --set device=cuda --no-report");
  if (r.code == 0) GTEST_SKIP() << "LibTorch sees a GPU";
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("device: cuda, but LibTorch sees no CUDA device"), std::string::npos)
      << r.err;
  EXPECT_FALSE(exists(dir_ / "out/metrics.csv"));
  const auto automatic = run_lowbit("train '" + (dir_ / "run.yaml") +
                                    "' --set device=auto --set stages.0.epochs=1 "
                                    "--no-report");
  EXPECT_EQ(automatic.code, 0) << automatic.err;
}

}  // namespace
}  // namespace lowbit::cli::testing
