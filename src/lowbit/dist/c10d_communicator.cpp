// The one file that sees LibTorch's c10d. LibTorch 1.13's ProcessGroupGloo derives from
// c10d::ProcessGroup, 2.x's from c10d::Backend; both have the same constructor, Options::create
// and collective methods, and lowbit holds the concrete class, never the base, so the same code
// compiles against both. Anything that must differ goes here, under TORCH_VERSION_MAJOR.
#include "lowbit/dist/c10d_communicator.h"

#include <torch/version.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef LOWBIT_WITH_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <cstdlib>
#include <string>
#include <utility>

namespace lowbit::dist {
namespace {

// Keys of lowbit's rendezvous, apart from those of a torchrun agent sharing the store.
constexpr const char* kStorePrefix = "lowbit/";

std::string address(const JobEnv& job) {
  return job.master_addr + ":" + std::to_string(job.master_port);
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0;
}

c10::intrusive_ptr<c10d::Store> open_store(const JobEnv& job) {
  c10d::TCPStoreOptions options;
  options.port = static_cast<std::uint16_t>(job.master_port);
  options.isServer = !job.agent_store && job.rank == 0;
  options.numWorkers = static_cast<std::size_t>(job.world_size);
  options.waitWorkers = false;
  options.timeout = job.timeouts.connect;
  try {
    auto store = c10::make_intrusive<c10d::TCPStore>(job.master_addr, options);
    return c10::make_intrusive<c10d::PrefixStore>(kStorePrefix, store);
  } catch (const std::exception& e) {
    throw CommError("rank " + std::to_string(job.rank) + ": cannot reach the rendezvous store at " +
                    address(job) + " (MASTER_ADDR/MASTER_PORT): " + e.what());
  }
}

// The Communicator over one c10d process group (ProcessGroupGloo or ProcessGroupNCCL).
template <typename Group>
class C10dCommunicator final : public Communicator {
 public:
  C10dCommunicator(c10::intrusive_ptr<Group> group, JobEnv job, std::string backend)
      : group_(std::move(group)), job_(std::move(job)), backend_(std::move(backend)) {}

  int rank() const override { return job_.rank; }
  int world_size() const override { return job_.world_size; }
  std::string backend() const override { return backend_; }

  void allreduce_sum(std::vector<torch::Tensor>& tensors) override {
    // One collective per tensor (c10d's list form means one tensor per device); all are queued
    // before the first wait, so small ones overlap.
    std::vector<Dense> dense = densify(tensors);
    std::vector<c10::intrusive_ptr<c10d::Work>> works;
    for (Dense& d : dense) {
      std::vector<torch::Tensor> one{d.work};
      works.push_back(group_->allreduce(one, c10d::AllreduceOptions{}));
    }
    for (auto& work : works) wait(work, "allreduce");
    write_back(dense);
  }

  void broadcast(std::vector<torch::Tensor>& tensors, int root) override {
    std::vector<Dense> dense = densify(tensors);
    std::vector<c10::intrusive_ptr<c10d::Work>> works;
    c10d::BroadcastOptions options;
    options.rootRank = root;
    for (Dense& d : dense) {
      std::vector<torch::Tensor> one{d.work};
      works.push_back(group_->broadcast(one, options));
    }
    for (auto& work : works) wait(work, "broadcast");
    write_back(dense);
  }

  void barrier() override { wait(group_->barrier(c10d::BarrierOptions{}), "barrier"); }

  std::vector<torch::Tensor> allgather(const torch::Tensor& tensor) override {
    std::vector<torch::Tensor> input{tensor.contiguous()};
    std::vector<std::vector<torch::Tensor>> output(1);
    for (int r = 0; r < job_.world_size; ++r) output[0].push_back(torch::empty_like(input[0]));
    wait(group_->allgather(output, input, c10d::AllgatherOptions{}), "allgather");
    return output[0];
  }

 private:
  // A tensor as the collective sees it: itself when dense, else a contiguous copy written back.
  struct Dense {
    torch::Tensor target;
    torch::Tensor work;
  };

  static std::vector<Dense> densify(const std::vector<torch::Tensor>& tensors) {
    std::vector<Dense> dense;
    for (const torch::Tensor& t : tensors)
      dense.push_back({t, t.is_contiguous() ? t : t.contiguous()});
    return dense;
  }

  static void write_back(std::vector<Dense>& dense) {
    for (Dense& d : dense) {
      if (!d.work.is_same(d.target)) d.target.copy_(d.work);
    }
  }

  void wait(const c10::intrusive_ptr<c10d::Work>& work, const char* what) {
    try {
      work->wait(job_.timeouts.collective);
    } catch (const std::exception& e) {
      // c10d's message is long (a stack in some builds); its first line says what happened.
      std::string why = e.what();
      why = why.substr(0, why.find('\n'));
      throw CommError("rank " + std::to_string(job_.rank) + " of " +
                      std::to_string(job_.world_size) + ": " + what + " failed: " + why +
                      " (another rank died, stopped or timed out after " +
                      std::to_string(job_.timeouts.collective.count() / 1000) + " s)");
    }
  }

  c10::intrusive_ptr<Group> group_;
  JobEnv job_;
  std::string backend_;
};

std::shared_ptr<::gloo::transport::Device> gloo_device(const JobEnv& job) {
  // GLOO_SOCKET_IFNAME as in PyTorch; on one machine the loopback interface needs no name lookup.
  if (const char* name = std::getenv("GLOO_SOCKET_IFNAME"); name != nullptr && *name != '\0') {
    return c10d::ProcessGroupGloo::createDeviceForInterface(name);
  }
  if (is_loopback(job.master_addr)) {
    return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  }
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

}  // namespace

std::unique_ptr<Communicator> connect_gloo(const JobEnv& job) {
  c10::intrusive_ptr<c10d::Store> store = open_store(job);
  auto options = c10d::ProcessGroupGloo::Options::create(job.timeouts.collective);
  try {
    options->devices.push_back(gloo_device(job));
    auto group =
        c10::make_intrusive<c10d::ProcessGroupGloo>(store, job.rank, job.world_size, options);
    return std::make_unique<C10dCommunicator<c10d::ProcessGroupGloo>>(group, job, "gloo");
  } catch (const CommError&) {
    throw;
  } catch (const std::exception& e) {
    std::string why = e.what();
    throw CommError("rank " + std::to_string(job.rank) + ": Gloo rendezvous through " +
                    address(job) + " failed: " + why.substr(0, why.find('\n')));
  }
}

std::unique_ptr<Communicator> connect(const std::optional<JobEnv>& job, bool cuda) {
  if (!job || job->world_size == 1) return std::make_unique<SingleProcess>();
#ifdef LOWBIT_WITH_NCCL
  if (cuda) {
    c10::intrusive_ptr<c10d::Store> store = open_store(*job);
    auto options = c10d::ProcessGroupNCCL::Options::create();
    options->timeout = job->timeouts.collective;
    auto group =
        c10::make_intrusive<c10d::ProcessGroupNCCL>(store, job->rank, job->world_size, options);
    return std::make_unique<C10dCommunicator<c10d::ProcessGroupNCCL>>(group, *job, "nccl");
  }
#endif
  return connect_gloo(*job);
}

struct StoreServer::Impl {
  c10::intrusive_ptr<c10d::TCPStore> store;
};

StoreServer::StoreServer(int world_size, Timeouts timeouts) : impl_(std::make_unique<Impl>()) {
  c10d::TCPStoreOptions options;
  options.port = 0;  // a free port, chosen by the kernel
  options.isServer = true;
  options.numWorkers = static_cast<std::size_t>(world_size);
  options.waitWorkers = false;
  options.timeout = timeouts.connect;
  impl_->store = c10::make_intrusive<c10d::TCPStore>("127.0.0.1", options);
}

StoreServer::~StoreServer() = default;

int StoreServer::port() const {
  return impl_->store->getPort();
}

}  // namespace lowbit::dist
