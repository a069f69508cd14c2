// What data parallelism does to a model between steps: the same start on every rank, averaged
// gradients in flat buckets, averaged observer statistics. Built on Communicator only.
#pragma once

#include <torch/nn/module.h>

#include <cstdint>
#include <vector>

#include "lowbit/dist/communicator.h"

namespace lowbit::dist {

/// Copies every parameter and buffer of rank 0's `module` into the other ranks' (flat buckets
/// per dtype). Every rank's module must have the same structure and shapes.
void broadcast_module(torch::nn::Module& module, Communicator& comm);

/// Averages `tensors` over the ranks in place, packed into flat buckets of at most
/// `bucket_bytes` per dtype (one collective per bucket instead of one per tensor).
void average_in_buckets(const std::vector<torch::Tensor>& tensors, Communicator& comm,
                        int64_t bucket_bytes);

/// The gradients of `module`'s trainable parameters (latent weights, learned quantizer steps,
/// everything with requires_grad and a gradient), averaged over the ranks in flat buckets.
/// Parameters without a gradient are left alone: every rank runs the same graph, so the set is
/// the same on all of them.
void average_gradients(torch::nn::Module& module, Communicator& comm, int64_t bucket_bytes);

/// Averages every floating-point buffer of `module` over the ranks: observer statistics (EMA
/// min/max, grid statistics, OCTAV clips) and batch-norm running statistics, each rank having
/// seen its own shard. Integer buffers (initialised flags, batch counters) change in step on
/// every rank and are left alone.
void average_float_buffers(torch::nn::Module& module, Communicator& comm, int64_t bucket_bytes);

/// Averages every floating-point parameter of `module` over the ranks (for parameters that a
/// quantizer initialised from the first batch each rank saw).
void average_parameters(torch::nn::Module& module, Communicator& comm, int64_t bucket_bytes);

/// The sum of `module`'s integer buffers named "initialized": it changes on the step in which a
/// quantizer initialises itself from data.
int64_t initialised_count(torch::nn::Module& module);

}  // namespace lowbit::dist
