// Comparing the outputs of two models on the same samples (seed 003's `compare_model_outputs`):
// how far a quantized stage's outputs lie from a reference stage's, as mean absolute and mean
// squared differences. `lowbit compare` and the run report use it.
#pragma once

#include <torch/nn/modules/container/any.h>
#include <torch/types.h>

#include <cstdint>

#include "lowbit/data/dataset.h"

namespace lowbit::train {

/// How far outputs lie from reference outputs, over all their values.
struct OutputDifference {
  double mae = 0.0;      ///< Mean |output - reference|.
  double mse = 0.0;      ///< Mean (output - reference)^2.
  double max_abs = 0.0;  ///< Largest |output - reference|.
  int64_t values = 0;    ///< Number of values compared.
};

/// The outputs of `model` (switched to eval mode, no gradients) for every sample of `dataset`, in
/// order, `batch_size` samples at a time, concatenated along dimension 0 as float32 on the CPU.
torch::Tensor collect_outputs(torch::nn::AnyModule& model, const data::Dataset& dataset,
                              int64_t batch_size);

/// The difference of `output` from `reference`, accumulated in float64. Throws
/// std::invalid_argument naming both shapes when they differ or hold no values.
OutputDifference compare_outputs(const torch::Tensor& output, const torch::Tensor& reference);

}  // namespace lowbit::train
