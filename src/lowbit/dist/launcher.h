// `lowbit train CFG --nproc N`: N local workers of the same program, in the environment torchrun
// would give them, around a rendezvous store hosted by the launcher.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "lowbit/dist/communicator.h"

namespace lowbit::dist {

/// `args` (argv[1..] of this process) without "--nproc N" / "--nproc=N".
std::vector<std::string> without_nproc(const std::vector<std::string>& args);

/// This process's arguments after the program name (from /proc/self/cmdline).
std::vector<std::string> own_arguments();

/// Runs this program (/proc/self/exe) with `args` as `nproc` workers with RANK, LOCAL_RANK,
/// WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR=127.0.0.1, MASTER_PORT (the launcher's store) and
/// TORCHELASTIC_USE_AGENT_STORE=True set. When one worker fails, the others get SIGTERM (SIGKILL
/// after `grace_s` seconds). Returns 0 when all succeed, else the exit code of the first worker
/// that failed (128 + signal for a killed one); says which on `log`. Workers die with the launcher.
int launch_local_workers(const std::vector<std::string>& args, int nproc, std::ostream& log,
                         const Timeouts& timeouts, int grace_s = 5);

}  // namespace lowbit::dist
