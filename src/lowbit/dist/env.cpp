#include "lowbit/dist/env.h"

#include <cstdlib>
#include <stdexcept>

namespace lowbit::dist {
namespace {

// A whole decimal number in [low, high], else an error naming the variable.
long parse_int(const std::string& name, const std::string& text, long low, long high) {
  size_t used = 0;
  long value = 0;
  try {
    value = std::stol(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || text.empty() || value < low || value > high) {
    throw std::invalid_argument("environment variable " + name + "='" + text +
                                "': expected a whole number from " + std::to_string(low) + " to " +
                                std::to_string(high));
  }
  return value;
}

std::string required(const EnvLookup& env, const std::string& name, const std::string& why) {
  std::optional<std::string> value = env(name);
  if (!value) {
    throw std::invalid_argument("environment variable " + name +
                                " is not set, but WORLD_SIZE is (" + why + ")");
  }
  return *value;
}

}  // namespace

std::optional<std::string> process_env(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

Timeouts read_timeouts(const EnvLookup& env) {
  Timeouts timeouts;
  if (auto seconds = env("LOWBIT_DIST_TIMEOUT_S")) {
    timeouts.collective =
        std::chrono::seconds(parse_int("LOWBIT_DIST_TIMEOUT_S", *seconds, 1, 86400));
  }
  if (auto seconds = env("LOWBIT_DIST_CONNECT_TIMEOUT_S")) {
    timeouts.connect =
        std::chrono::seconds(parse_int("LOWBIT_DIST_CONNECT_TIMEOUT_S", *seconds, 1, 86400));
  }
  return timeouts;
}

std::optional<JobEnv> read_job_env(const EnvLookup& env) {
  std::optional<std::string> world = env("WORLD_SIZE");
  if (!world) return std::nullopt;
  JobEnv job;
  job.world_size = static_cast<int>(parse_int("WORLD_SIZE", *world, 1, 65536));
  job.rank = static_cast<int>(
      parse_int("RANK", required(env, "RANK", "this process's rank"), 0, job.world_size - 1));
  if (auto local = env("LOCAL_RANK")) {
    job.local_rank = static_cast<int>(parse_int("LOCAL_RANK", *local, 0, job.world_size - 1));
  }
  job.timeouts = read_timeouts(env);
  if (job.world_size == 1) return job;
  job.master_addr = required(env, "MASTER_ADDR", "the host of the rendezvous store");
  job.master_port = static_cast<int>(
      parse_int("MASTER_PORT", required(env, "MASTER_PORT", "the port of the store"), 1, 65535));
  if (auto agent = env("TORCHELASTIC_USE_AGENT_STORE")) {
    job.agent_store = *agent == "True" || *agent == "true" || *agent == "1";
  }
  return job;
}

}  // namespace lowbit::dist
