#include "lowbit/dist/env.h"
#include "lowbit/dist/launcher.h"

#include <gtest/gtest.h>

#include <map>

namespace lowbit::dist {
namespace {

EnvLookup lookup(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    const auto found = vars.find(name);
    if (found == vars.end()) return std::nullopt;
    return found->second;
  };
}

TEST(JobEnv, NoWorldSizeIsOneProcess) {
  EXPECT_FALSE(read_job_env(lookup({})).has_value());
}

TEST(JobEnv, ReadsTheTorchrunVariables) {
  const auto job = read_job_env(lookup({{"WORLD_SIZE", "4"},
                                        {"RANK", "3"},
                                        {"LOCAL_RANK", "1"},
                                        {"MASTER_ADDR", "node7"},
                                        {"MASTER_PORT", "29511"},
                                        {"TORCHELASTIC_USE_AGENT_STORE", "True"},
                                        {"LOWBIT_DIST_TIMEOUT_S", "7"}}));
  ASSERT_TRUE(job.has_value());
  EXPECT_EQ(job->world_size, 4);
  EXPECT_EQ(job->rank, 3);
  EXPECT_EQ(job->local_rank, 1);
  EXPECT_EQ(job->master_addr, "node7");
  EXPECT_EQ(job->master_port, 29511);
  EXPECT_TRUE(job->agent_store);
  EXPECT_EQ(job->timeouts.collective.count(), 7000);
}

TEST(JobEnv, BadValuesNameTheVariable) {
  auto message = [](std::map<std::string, std::string> vars) {
    try {
      read_job_env(lookup(std::move(vars)));
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message({{"WORLD_SIZE", "2"}}).find("RANK is not set"), std::string::npos);
  EXPECT_NE(message({{"WORLD_SIZE", "2"}, {"RANK", "2"}}).find("RANK='2'"), std::string::npos);
  EXPECT_NE(message({{"WORLD_SIZE", "two"}}).find("WORLD_SIZE='two'"), std::string::npos);
  EXPECT_NE(message({{"WORLD_SIZE", "2"}, {"RANK", "0"}}).find("MASTER_ADDR"), std::string::npos);
  EXPECT_NE(
      message({{"WORLD_SIZE", "2"}, {"RANK", "0"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "70000"}})
          .find("MASTER_PORT='70000'"),
      std::string::npos);
}

TEST(Launcher, DropsNprocFromTheArguments) {
  EXPECT_EQ(without_nproc({"train", "c.yaml", "--nproc", "2", "--resume"}),
            (std::vector<std::string>{"train", "c.yaml", "--resume"}));
  EXPECT_EQ(without_nproc({"train", "--nproc=3", "c.yaml"}),
            (std::vector<std::string>{"train", "c.yaml"}));
}

TEST(SingleProcess, CollectivesLeaveTensorsAlone) {
  SingleProcess one;
  std::vector<torch::Tensor> t{torch::tensor({1.5f, -2.0f})};
  one.allreduce_sum(t);
  one.broadcast(t, 0);
  one.barrier();
  EXPECT_TRUE(torch::equal(t[0], torch::tensor({1.5f, -2.0f})));
  EXPECT_EQ(one.allgather(t[0]).size(), 1u);
  EXPECT_EQ(one.world_size(), 1);
  EXPECT_TRUE(one.is_root());
}

}  // namespace
}  // namespace lowbit::dist
