#include "lowbit/train/data_parallel.h"

#include <chrono>

#include "lowbit/dist/module_sync.h"

namespace lowbit::train {
namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

DataParallel::DataParallel(dist::Communicator* comm, int64_t bucket_bytes)
    : comm_(comm), bucket_bytes_(bucket_bytes) {}

void DataParallel::shard(data::LoaderOptions& options) const {
  if (!active()) return;
  options.shards = comm_->world_size();
  options.shard = comm_->rank();
}

void DataParallel::broadcast(torch::nn::Module& module) {
  if (!active()) return;
  dist::broadcast_module(module, *comm_);
  initialised_ = dist::initialised_count(module);
}

double DataParallel::mean_loss(double loss) {
  if (!active()) return loss;
  std::vector<torch::Tensor> value{torch::tensor({loss}, torch::kFloat64)};
  comm_->allreduce_sum(value);
  return value[0].item<double>() / comm_->world_size();
}

void DataParallel::after_backward(torch::nn::Module& module) {
  if (!active()) return;
  const auto start = Clock::now();
  dist::average_gradients(module, *comm_, bucket_bytes_);
  comm_seconds_ += since(start);
}

void DataParallel::after_step(torch::nn::Module& module) {
  ++steps_;
  if (!active()) return;
  const auto start = Clock::now();
  dist::average_float_buffers(module, *comm_, bucket_bytes_);
  // A quantizer that set its step from this step's batch did so from this rank's shard.
  const int64_t initialised = dist::initialised_count(module);
  if (initialised != initialised_) {
    dist::average_parameters(module, *comm_, bucket_bytes_);
    initialised_ = initialised;
  }
  comm_seconds_ += since(start);
}

bool DataParallel::any(bool flag) {
  if (!active()) return flag;
  std::vector<torch::Tensor> value{torch::tensor({flag ? 1.0 : 0.0}, torch::kFloat64)};
  comm_->allreduce_sum(value);
  return value[0].item<double>() > 0.0;
}

void DataParallel::sum_counts(int64_t& a, int64_t& b) {
  if (!active()) return;
  std::vector<torch::Tensor> value{torch::tensor({a, b}, torch::kInt64)};
  comm_->allreduce_sum(value);
  a = value[0][0].item<int64_t>();
  b = value[0][1].item<int64_t>();
}

void DataParallel::average_buffers(torch::nn::Module& module) {
  if (active()) dist::average_float_buffers(module, *comm_, bucket_bytes_);
}

}  // namespace lowbit::train
