// Two ranks over 127.0.0.1 (the launcher's store on a free port): collective values, and a dead
// peer turning into a clear error within seconds.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <fstream>

#include "dist/dist_test_util.h"
#include "lowbit/dist/c10d_communicator.h"
#include "lowbit/dist/env.h"
#include "lowbit/util/atomic_file.h"

namespace lowbit::dist {
namespace {

using testing::run_workers;
using testing::slurp;
using testing::worker_out;

// Worker: every collective with values that depend on the rank.
TEST(DistWorker, Collectives) {
  if (worker_out().empty()) GTEST_SKIP() << "runs as a worker of TwoRanks.Collectives";
  auto comm = connect(read_job_env());
  const int r = comm->rank();
  ASSERT_EQ(comm->world_size(), 2);
  EXPECT_EQ(comm->backend(), "gloo");
  // Sums: float, int64 and a non-contiguous view (written back through its copy).
  torch::Tensor grid = torch::arange(6, torch::kFloat32).reshape({2, 3}) * (r + 1);
  std::vector<torch::Tensor> t{torch::tensor({1.0f, 2.0f, 3.0f}) * (r + 1),
                               torch::tensor({int64_t{10} + r}), grid.t()};
  comm->allreduce_sum(t);
  EXPECT_TRUE(torch::equal(t[0], torch::tensor({3.0f, 6.0f, 9.0f})));
  EXPECT_TRUE(torch::equal(t[1], torch::tensor({int64_t{21}})));
  EXPECT_TRUE(torch::equal(grid, torch::arange(6, torch::kFloat32).reshape({2, 3}) * 3));
  // Broadcast from rank 1.
  std::vector<torch::Tensor> b{torch::full({4}, static_cast<float>(r))};
  comm->broadcast(b, 1);
  EXPECT_TRUE(torch::equal(b[0], torch::ones({4})));
  // Allgather in rank order.
  const auto all = comm->allgather(torch::tensor({static_cast<float>(100 + r)}));
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].item<float>(), 100.0f);
  EXPECT_EQ(all[1].item<float>(), 101.0f);
  comm->barrier();
  if (!::testing::Test::HasFailure()) {
    util::write_text_atomically(worker_out() + "/rank" + std::to_string(r) + ".ok", "ok\n");
  }
}

TEST(TwoRanks, Collectives) {
  const testing::WorkDir dir;
  const std::string& out = dir.path();
  ASSERT_EQ(run_workers("DistWorker.Collectives", 2, out), 0);
  EXPECT_EQ(slurp(out + "/rank0.ok"), "ok\n");
  EXPECT_EQ(slurp(out + "/rank1.ok"), "ok\n");
}

// Worker: rank 1 dies after the first allreduce; rank 0 records how its next collective failed.
TEST(DistWorker, DeadPeer) {
  if (worker_out().empty()) GTEST_SKIP() << "runs as a worker of TwoRanks.DeadPeerFailsFast";
  // Rank 0 finishes its report even when the launcher asks it to stop.
  ::signal(SIGTERM, SIG_IGN);
  auto comm = connect(read_job_env());
  std::vector<torch::Tensor> t{torch::ones({1000})};
  comm->allreduce_sum(t);
  if (comm->rank() == 1) ::raise(SIGKILL);
  const auto start = std::chrono::steady_clock::now();
  std::string what = "no error";
  try {
    for (int i = 0; i < 100000; ++i) comm->allreduce_sum(t);
  } catch (const CommError& e) {
    what = e.what();
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  util::write_text_atomically(worker_out() + "/rank0.txt",
                              std::to_string(seconds) + "\n" + what + "\n");
}

TEST(TwoRanks, DeadPeerFailsFast) {
  const testing::WorkDir dir;
  const std::string& out = dir.path();
  // The collective timeout is 30 s: the failure must come from the dead peer, not the clock.
  const int code = run_workers("DistWorker.DeadPeer", 2, out);
  EXPECT_EQ(code, 128 + SIGKILL);  // the launcher returns the first failure: rank 1's
  std::ifstream in(out + "/rank0.txt");
  double seconds = 1e9;
  std::string what;
  in >> seconds;
  in.ignore();
  std::getline(in, what);
  EXPECT_LT(seconds, 10.0) << what;
  EXPECT_NE(what.find("rank 0 of 2: allreduce failed"), std::string::npos) << what;
}

}  // namespace
}  // namespace lowbit::dist
