// Iterates a Dataset in batches, preparing the next batch on a background thread while the
// caller trains on the current one.
#pragma once

#include <torch/types.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "lowbit/data/dataset.h"

namespace lowbit::data {

/// One batch of samples.
struct Batch {
  torch::Tensor inputs;   ///< Inputs of the batch, [B, ...].
  torch::Tensor targets;  ///< Targets of the batch, [B].
  torch::Tensor indices;  ///< int64 [B]: the samples' positions in the data set.
};

/// Changes a batch (augmentation, normalization); `seed` is fixed by (loader seed, epoch, batch
/// number), so a transform that seeds its generator from it is reproducible whatever the thread.
using BatchTransform = std::function<Batch(Batch batch, uint64_t seed)>;

/// How a Loader batches and orders a data set.
struct LoaderOptions {
  int64_t batch_size = 64;  ///< Samples per batch (> 0).
  bool shuffle = true;      ///< A new order each epoch, fixed by (seed, epoch); else data order.
  bool drop_last = false;   ///< Drop the last batch if it is smaller than batch_size.
  uint64_t seed = 0;        ///< Seed of the shuffles and of the transform seeds.
  int64_t prefetch = 2;     ///< Batches prepared ahead (1 or more).
  /// Data parallelism: `shards` processes each take slice `shard` of every batch of
  /// batch_size * shards samples of the same order; the order is cut to a multiple of `shards`
  /// so every shard gets as many batches and samples as the others.
  int64_t shards = 1;
  int64_t shard = 0;  ///< This process's slice, 0 .. shards - 1.
};

/// Batches of one epoch at a time: call start_epoch(e), then next() until it returns nothing.
/// A worker thread fills a queue of at most `prefetch` batches; an exception thrown while
/// preparing a batch is re-thrown by next() in the caller's thread.
class Loader {
 public:
  /// Checks the options and keeps the data set (tensors are shared, not copied).
  Loader(Dataset dataset, LoaderOptions options, BatchTransform transform = nullptr);
  /// Stops and joins the worker.
  ~Loader();
  /// Not copyable: the worker thread refers to this object.
  Loader(const Loader&) = delete;
  /// Not copyable: the worker thread refers to this object.
  Loader& operator=(const Loader&) = delete;

  /// Begins epoch `epoch` (abandoning any unfinished one) and starts preparing its batches.
  void start_epoch(int64_t epoch);
  /// The next batch of the current epoch, or nothing at its end; re-throws worker errors.
  std::optional<Batch> next();
  /// Batches per epoch under the current options.
  int64_t batches_per_epoch() const;
  /// The sample order of `epoch` (before batching and drop_last).
  std::vector<int64_t> epoch_order(int64_t epoch) const;
  /// The data set being iterated.
  const Dataset& dataset() const { return dataset_; }

 private:
  void stop_worker();
  // Samples of an epoch that are used: the data set cut to a multiple of the shard count.
  int64_t used_samples() const;
  void produce(std::vector<int64_t> order, int64_t epoch);

  Dataset dataset_;                  ///< The samples.
  LoaderOptions options_;            ///< Batching options.
  BatchTransform transform_;         ///< Optional per-batch transform.
  std::thread worker_;               ///< Prepares the batches of the current epoch.
  std::mutex mutex_;                 ///< Guards the fields below.
  std::condition_variable changed_;  ///< Signals queue changes and stop requests.
  std::deque<Batch> queue_;          ///< Ready batches.
  std::exception_ptr error_;         ///< The worker's failure, re-thrown by next().
  bool stop_ = false;                ///< Asks the worker to finish.
  bool done_ = true;                 ///< The worker has queued its last batch (or failed).
};

}  // namespace lowbit::data
