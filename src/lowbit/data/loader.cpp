#include "lowbit/data/loader.h"

#include <stdexcept>
#include <string>

#include "lowbit/data/rng.h"

namespace lowbit::data {

Loader::Loader(Dataset dataset, LoaderOptions options, BatchTransform transform)
    : dataset_(std::move(dataset)), options_(options), transform_(std::move(transform)) {
  if (options_.batch_size <= 0) {
    throw std::invalid_argument("Loader: batch_size must be > 0, got " +
                                std::to_string(options_.batch_size));
  }
  if (options_.prefetch < 1) {
    throw std::invalid_argument("Loader: prefetch must be >= 1, got " +
                                std::to_string(options_.prefetch));
  }
  if (options_.shards < 1 || options_.shard < 0 || options_.shard >= options_.shards) {
    throw std::invalid_argument("Loader: shard " + std::to_string(options_.shard) + " of " +
                                std::to_string(options_.shards) + " is not a valid slice");
  }
}

int64_t Loader::used_samples() const {
  const int64_t n = dataset_.size();
  return n - n % options_.shards;
}

Loader::~Loader() {
  stop_worker();
}

int64_t Loader::batches_per_epoch() const {
  const int64_t n = used_samples();
  const int64_t global = options_.batch_size * options_.shards;
  return options_.drop_last ? n / global : (n + global - 1) / global;
}

std::vector<int64_t> Loader::epoch_order(int64_t epoch) const {
  const int64_t n = dataset_.size();
  if (options_.shuffle)
    return random_permutation(n, mix_seed(options_.seed, static_cast<uint64_t>(epoch)));
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[static_cast<size_t>(i)] = i;
  return order;
}

void Loader::stop_worker() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  changed_.notify_all();
  if (worker_.joinable()) worker_.join();
  queue_.clear();
  error_ = nullptr;
  stop_ = false;
  done_ = true;
}

void Loader::start_epoch(int64_t epoch) {
  stop_worker();
  done_ = false;
  worker_ = std::thread(&Loader::produce, this, epoch_order(epoch), epoch);
}

void Loader::produce(std::vector<int64_t> order, int64_t epoch) {
  try {
    const int64_t batches = batches_per_epoch();
    const int64_t n = std::min(static_cast<int64_t>(order.size()), used_samples());
    const int64_t global = options_.batch_size * options_.shards;
    uint64_t epoch_seed = mix_seed(options_.seed ^ 0x5DEECE66DULL, static_cast<uint64_t>(epoch));
    // Each shard augments its slice with its own draws (one process keeps its old seeds).
    if (options_.shards > 1)
      epoch_seed = mix_seed(epoch_seed, static_cast<uint64_t>(options_.shard));
    for (int64_t b = 0; b < batches; ++b) {
      const int64_t global_begin = b * global;
      const int64_t slice = (std::min(n, global_begin + global) - global_begin) / options_.shards;
      const int64_t begin = global_begin + options_.shard * slice;
      const int64_t end = begin + slice;
      std::vector<int64_t> idx(order.begin() + begin, order.begin() + end);
      Batch batch;
      batch.indices = torch::tensor(idx, torch::kInt64);
      // Data on a GPU (device: cuda) are gathered there, with the positions moved to it.
      const torch::Tensor at = batch.indices.to(dataset_.inputs.device());
      batch.inputs = dataset_.inputs.index_select(0, at);
      batch.targets = dataset_.targets.index_select(0, at.to(dataset_.targets.device()));
      if (transform_)
        batch = transform_(std::move(batch), mix_seed(epoch_seed, static_cast<uint64_t>(b)));
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait(
          lock, [&] { return stop_ || static_cast<int64_t>(queue_.size()) < options_.prefetch; });
      if (stop_) return;
      queue_.push_back(std::move(batch));
      changed_.notify_all();
    }
  } catch (...) {
    std::lock_guard<std::mutex> lock(mutex_);
    error_ = std::current_exception();
  }
  std::lock_guard<std::mutex> lock(mutex_);
  done_ = true;
  changed_.notify_all();
}

std::optional<Batch> Loader::next() {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [&] { return !queue_.empty() || done_; });
  if (!queue_.empty()) {
    Batch batch = std::move(queue_.front());
    queue_.pop_front();
    changed_.notify_all();
    return batch;
  }
  if (error_) {
    std::exception_ptr error = error_;
    error_ = nullptr;
    std::rethrow_exception(error);
  }
  return std::nullopt;
}

}  // namespace lowbit::data
