#include "lowbit/dist/launcher.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <stdexcept>
#include <thread>

#include "lowbit/dist/c10d_communicator.h"

extern char** environ;

namespace lowbit::dist {
namespace {

// The environment of worker `rank`: this process's, with the job's variables replaced.
std::vector<std::string> worker_environment(int rank, int nproc, int port) {
  const std::map<std::string, std::string> job = {{"RANK", std::to_string(rank)},
                                                  {"LOCAL_RANK", std::to_string(rank)},
                                                  {"WORLD_SIZE", std::to_string(nproc)},
                                                  {"LOCAL_WORLD_SIZE", std::to_string(nproc)},
                                                  {"MASTER_ADDR", "127.0.0.1"},
                                                  {"MASTER_PORT", std::to_string(port)},
                                                  {"TORCHELASTIC_USE_AGENT_STORE", "True"}};
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    if (job.count(entry.substr(0, entry.find('='))) == 0) env.push_back(entry);
  }
  for (const auto& [name, value] : job) env.push_back(name + "=" + value);
  return env;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> result;
  for (std::string& s : strings) result.push_back(s.data());
  result.push_back(nullptr);
  return result;
}

int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

std::string describe(int status) {
  if (WIFSIGNALED(status))
    return std::string("was killed by signal ") + strsignal(WTERMSIG(status));
  return "exited with code " + std::to_string(exit_code(status));
}

}  // namespace

std::vector<std::string> without_nproc(const std::vector<std::string>& args) {
  std::vector<std::string> result;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--nproc") {
      ++i;  // and its value
      continue;
    }
    if (args[i].rfind("--nproc=", 0) == 0) continue;
    result.push_back(args[i]);
  }
  return result;
}

std::vector<std::string> own_arguments() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  const std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  size_t start = 0;
  while (start < all.size()) {
    const size_t end = all.find('\0', start);
    args.push_back(all.substr(start, end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  if (!args.empty()) args.erase(args.begin());
  return args;
}

int launch_local_workers(const std::vector<std::string>& args, int nproc, std::ostream& log,
                         const Timeouts& timeouts, int grace_s) {
  if (nproc < 1)
    throw std::invalid_argument("--nproc must be at least 1, got " + std::to_string(nproc));
  char exe[4096];
  const ssize_t length = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (length <= 0) throw std::runtime_error("cannot find this program (/proc/self/exe)");
  exe[length] = '\0';
  StoreServer store(nproc, timeouts);
  const pid_t launcher = getpid();
  // Ctrl-C goes to the whole process group: the workers stop at the end of their epoch, and the
  // launcher waits for them instead of dying first (which would kill them unsaved).
  struct sigaction ignore {
  }, previous{};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGINT, &ignore, &previous);

  std::map<pid_t, int> running;  // pid -> rank
  for (int rank = 0; rank < nproc; ++rank) {
    // Everything the child needs is built before fork: after it only exec may run.
    std::vector<std::string> argv_strings{exe};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<std::string> env_strings = worker_environment(rank, nproc, store.port());
    std::vector<char*> argv = pointers(argv_strings);
    std::vector<char*> envp = pointers(env_strings);
    const pid_t pid = fork();
    if (pid < 0) {
      for (const auto& [child, r] : running) kill(child, SIGKILL);
      throw std::runtime_error(std::string("cannot start worker: fork failed: ") + strerror(errno));
    }
    if (pid == 0) {
      // A worker must not outlive a launcher that was killed.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      signal(SIGINT, SIG_DFL);  // an ignored signal would stay ignored across exec
      if (getppid() != launcher) _exit(1);
      execve(exe, argv.data(), envp.data());
      _exit(127);
    }
    running[pid] = rank;
  }

  int result = 0;
  auto deadline = std::chrono::steady_clock::time_point::max();
  while (!running.empty()) {
    int status = 0;
    const pid_t pid = waitpid(-1, &status, result == 0 ? 0 : WNOHANG);
    if (pid < 0 && errno == EINTR) continue;
    if (pid < 0) break;
    if (pid == 0) {
      // Stopping the others after a failure: SIGKILL for those past the grace period.
      if (std::chrono::steady_clock::now() > deadline) {
        for (const auto& [child, r] : running) kill(child, SIGKILL);
        deadline = std::chrono::steady_clock::time_point::max();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    const auto found = running.find(pid);
    if (found == running.end()) continue;
    const int rank = found->second;
    running.erase(found);
    if (exit_code(status) != 0 && result == 0) {
      result = exit_code(status);
      log << "lowbit: worker rank " << rank << " of " << nproc << " " << describe(status)
          << "; stopping the other workers\n";
      for (const auto& [child, r] : running) kill(child, SIGTERM);
      deadline = std::chrono::steady_clock::now() + std::chrono::seconds(grace_s);
    }
  }
  sigaction(SIGINT, &previous, nullptr);
  return result;
}

}  // namespace lowbit::dist
