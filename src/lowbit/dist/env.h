// The launcher environment of a data-parallel job, as torchrun, Slurm scripts and Kubernetes
// operators set it: RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "lowbit/dist/communicator.h"

namespace lowbit::dist {

/// Where this process sits in a job and how it reaches the others.
struct JobEnv {
  int rank = 0;                           ///< RANK.
  int world_size = 1;                     ///< WORLD_SIZE.
  int local_rank = 0;                     ///< LOCAL_RANK (this machine's GPU index with CUDA).
  std::string master_addr = "127.0.0.1";  ///< MASTER_ADDR: host of the rendezvous store.
  int master_port = 29500;                ///< MASTER_PORT: port of the rendezvous store.
  /// True when a launcher already hosts the store (TORCHELASTIC_USE_AGENT_STORE=True under
  /// torchrun, always under `lowbit train --nproc`); else rank 0 hosts it.
  bool agent_store = false;
  Timeouts timeouts;  ///< LOWBIT_DIST_TIMEOUT_S / LOWBIT_DIST_CONNECT_TIMEOUT_S (seconds).
};

/// Reads a variable; nullopt when unset or empty.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

/// The process's own environment.
std::optional<std::string> process_env(const std::string& name);

/// The timeouts LOWBIT_DIST_TIMEOUT_S / LOWBIT_DIST_CONNECT_TIMEOUT_S (whole seconds) set, the
/// defaults for those unset; std::invalid_argument naming the variable for a bad value.
Timeouts read_timeouts(const EnvLookup& env = process_env);

/// The job described by `env`: nullopt when WORLD_SIZE is unset (a single process); a
/// std::invalid_argument naming the variable and what it must be for a bad or missing value
/// (RANK outside 0..WORLD_SIZE-1, a port outside 1..65535, a non-number).
std::optional<JobEnv> read_job_env(const EnvLookup& env = process_env);

}  // namespace lowbit::dist
