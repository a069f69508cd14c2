// The per-layer quantization ranges a stage logs every epoch (seed 003's "layer-specific
// quantization ranges"): the running min/max of every EMA observer (the `ema` range estimator of
// uniform quantizers) and the membrane grid of every quantized nn::Leaky, as rows of
// quant_ranges.csv in the stage's folder.
#pragma once

#include <torch/nn/module.h>

#include <cstdint>
#include <string>
#include <vector>

namespace lowbit::train {

/// One observed range.
struct QuantRange {
  std::string layer;  ///< Dotted module name.
  std::string role;   ///< weights, biases, inputs, outputs, activations, or state (membrane).
  int bits = 0;       ///< The quantizer's bits.
  double min = 0.0;   ///< Running minimum (the smallest channel's for per-channel observers).
  double max = 0.0;   ///< Running maximum (the largest channel's).
};

/// The ranges of `model`'s EMA observers that have seen data, and of its quantized membranes
/// (lowest and highest level of the grid), in module order.
std::vector<QuantRange> quantization_ranges(torch::nn::Module& model);

/// The columns of quant_ranges.csv: stage, epoch, layer, role, bits, min, max.
const std::vector<std::string>& quant_range_columns();

/// Appends one row per range of `model` after `epoch` (1-based in the file) of `stage` to the
/// CSV at `path` (header written when the file is new); nothing when there is no range.
void log_quantization_ranges(const std::string& path, const std::string& stage, int64_t epoch,
                             torch::nn::Module& model);

}  // namespace lowbit::train
