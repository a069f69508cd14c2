// Communicator on LibTorch's c10d (Gloo over TCP; NCCL in CUDA builds), the rendezvous store,
// and connect(), which picks the implementation for a job.
#pragma once

#include <memory>
#include <optional>

#include "lowbit/dist/communicator.h"
#include "lowbit/dist/env.h"

namespace lowbit::dist {

/// Joins `job` over Gloo: connects to (or, on rank 0 without an agent store, hosts) the TCP store
/// at MASTER_ADDR:MASTER_PORT and builds the process group. Throws CommError naming the address
/// when the others do not arrive within job.timeouts.connect.
std::unique_ptr<Communicator> connect_gloo(const JobEnv& job);

/// The communicator of a process: SingleProcess without a job (or with WORLD_SIZE=1), else Gloo
/// (NCCL when `cuda` and the build has CUDA).
std::unique_ptr<Communicator> connect(const std::optional<JobEnv>& job, bool cuda = false);

/// A rendezvous store hosted by this process on a free port of 127.0.0.1, for local workers
/// (`lowbit train --nproc`); it lives as long as this object.
class StoreServer {
 public:
  /// Starts the store for `world_size` workers.
  StoreServer(int world_size, Timeouts timeouts);
  /// Stops the store.
  ~StoreServer();
  /// The port it listens on.
  int port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lowbit::dist
