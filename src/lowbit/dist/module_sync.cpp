#include "lowbit/dist/module_sync.h"

#include <torch/torch.h>

#include <map>
#include <string>

namespace lowbit::dist {
namespace {

// Tensors of one dtype and device whose total size stays within a bucket.
std::vector<std::vector<torch::Tensor>> buckets(const std::vector<torch::Tensor>& tensors,
                                                int64_t bucket_bytes) {
  std::map<std::string, std::vector<std::vector<torch::Tensor>>> by_kind;
  std::map<std::string, int64_t> filled;
  std::vector<std::string> order;
  for (const torch::Tensor& t : tensors) {
    if (!t.defined() || t.numel() == 0) continue;
    const std::string kind = std::string(c10::toString(t.scalar_type())) + t.device().str();
    const int64_t bytes = t.numel() * static_cast<int64_t>(t.element_size());
    auto& list = by_kind[kind];
    if (list.empty()) order.push_back(kind);
    if (list.empty() || filled[kind] + bytes > bucket_bytes) {
      list.emplace_back();
      filled[kind] = 0;
    }
    list.back().push_back(t);
    filled[kind] += bytes;
  }
  std::vector<std::vector<torch::Tensor>> result;
  for (const std::string& kind : order) {
    for (auto& bucket : by_kind[kind]) result.push_back(std::move(bucket));
  }
  return result;
}

torch::Tensor flatten(const std::vector<torch::Tensor>& tensors) {
  std::vector<torch::Tensor> flat;
  for (const torch::Tensor& t : tensors) flat.push_back(t.detach().reshape({-1}));
  return torch::cat(flat);
}

void unflatten(const torch::Tensor& flat, const std::vector<torch::Tensor>& tensors) {
  torch::NoGradGuard no_grad;
  int64_t offset = 0;
  for (const torch::Tensor& t : tensors) {
    t.copy_(flat.narrow(0, offset, t.numel()).view(t.sizes()));
    offset += t.numel();
  }
}

std::vector<torch::Tensor> module_state(torch::nn::Module& module) {
  std::vector<torch::Tensor> state = module.parameters(true);
  for (const torch::Tensor& b : module.buffers(true)) state.push_back(b);
  return state;
}

}  // namespace

void broadcast_module(torch::nn::Module& module, Communicator& comm) {
  if (comm.world_size() == 1) return;
  // Everything in one flat tensor per dtype: a few collectives, whatever the layer count.
  for (const auto& bucket : buckets(module_state(module), std::numeric_limits<int64_t>::max())) {
    std::vector<torch::Tensor> flat{flatten(bucket)};
    comm.broadcast(flat, 0);
    unflatten(flat[0], bucket);
  }
}

void average_in_buckets(const std::vector<torch::Tensor>& tensors, Communicator& comm,
                        int64_t bucket_bytes) {
  if (comm.world_size() == 1) return;
  const auto all = buckets(tensors, bucket_bytes);
  std::vector<torch::Tensor> flat;
  for (const auto& bucket : all) flat.push_back(flatten(bucket));
  comm.allreduce_sum(flat);  // all buckets queued at once
  for (size_t i = 0; i < all.size(); ++i) {
    flat[i].div_(comm.world_size());
    unflatten(flat[i], all[i]);
  }
}

void average_gradients(torch::nn::Module& module, Communicator& comm, int64_t bucket_bytes) {
  std::vector<torch::Tensor> grads;
  for (const torch::Tensor& p : module.parameters(true)) {
    if (p.requires_grad() && p.grad().defined()) grads.push_back(p.mutable_grad());
  }
  average_in_buckets(grads, comm, bucket_bytes);
}

void average_float_buffers(torch::nn::Module& module, Communicator& comm, int64_t bucket_bytes) {
  std::vector<torch::Tensor> floats;
  for (const torch::Tensor& b : module.buffers(true)) {
    if (b.defined() && b.is_floating_point()) floats.push_back(b);
  }
  average_in_buckets(floats, comm, bucket_bytes);
}

void average_parameters(torch::nn::Module& module, Communicator& comm, int64_t bucket_bytes) {
  std::vector<torch::Tensor> floats;
  for (const torch::Tensor& p : module.parameters(true)) {
    if (p.is_floating_point()) floats.push_back(p);
  }
  average_in_buckets(floats, comm, bucket_bytes);
}

int64_t initialised_count(torch::nn::Module& module) {
  int64_t count = 0;
  for (const auto& item : module.named_buffers(true)) {
    const std::string& name = item.key();
    const bool flag = name == "initialized" ||
                      (name.size() > 12 && name.compare(name.size() - 12, 12, ".initialized") == 0);
    if (flag && item.value().numel() > 0) count += item.value().sum().item<int64_t>();
  }
  return count;
}

}  // namespace lowbit::dist
