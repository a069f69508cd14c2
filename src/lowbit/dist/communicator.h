// lowbit's own communication interface for data-parallel training: the four collectives the
// trainer needs, behind one small class, so that LibTorch's c10d (whose ProcessGroup became a
// Backend in 2.x) is seen by one file only (gloo_communicator.cpp).
#pragma once

#include <torch/types.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace lowbit::dist {

/// A collective failed or timed out (a dead or stuck peer); the message says which and why.
class CommError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The processes of one data-parallel job. Every rank must call the same collectives in the same
/// order with tensors of the same shapes and dtypes; tensors are changed in place.
class Communicator {
 public:
  virtual ~Communicator() = default;
  /// This process's rank, 0 .. world_size() - 1.
  virtual int rank() const = 0;
  /// Number of processes.
  virtual int world_size() const = 0;
  /// Sums each tensor over all ranks; every rank gets the sum.
  virtual void allreduce_sum(std::vector<torch::Tensor>& tensors) = 0;
  /// Copies each tensor of rank `root` into the same tensor of every other rank.
  virtual void broadcast(std::vector<torch::Tensor>& tensors, int root) = 0;
  /// Returns when every rank has called it.
  virtual void barrier() = 0;
  /// The `tensor` of every rank, in rank order (same shape on every rank).
  virtual std::vector<torch::Tensor> allgather(const torch::Tensor& tensor) = 0;
  /// "gloo", "nccl" or "single".
  virtual std::string backend() const = 0;

  /// True on rank 0, the rank that writes files.
  bool is_root() const { return rank() == 0; }
};

/// One process alone: every collective leaves its tensors as they are.
class SingleProcess final : public Communicator {
 public:
  /// Rank 0.
  int rank() const override { return 0; }
  /// One process.
  int world_size() const override { return 1; }
  /// The sum over one rank is the tensor itself.
  void allreduce_sum(std::vector<torch::Tensor>&) override {}
  /// Rank 0 already holds the root's tensors.
  void broadcast(std::vector<torch::Tensor>&, int) override {}
  /// Nothing to wait for.
  void barrier() override {}
  /// A list holding `tensor` (a view, not a copy).
  std::vector<torch::Tensor> allgather(const torch::Tensor& tensor) override { return {tensor}; }
  /// "single".
  std::string backend() const override { return "single"; }
};

/// Timeouts of a job; a collective that waits longer fails with CommError.
struct Timeouts {
  /// How long ranks wait for each other at start-up (store connection and rendezvous).
  std::chrono::milliseconds connect{std::chrono::seconds(60)};
  /// How long one collective may take (a peer that hangs, as opposed to one that died, which the
  /// transport reports at once).
  std::chrono::milliseconds collective{std::chrono::seconds(30)};
};

}  // namespace lowbit::dist
