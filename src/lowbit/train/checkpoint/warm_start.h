// Warm start: copies parameters and buffers by name and shape from a source state (an earlier
// stage's model or a checkpoint file) into a model, and reports what was copied and skipped, as
// the smart-pixel seed's warm-start summary does.
#pragma once

#include <torch/nn/module.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "lowbit/train/checkpoint/model_state.h"

namespace lowbit::train {

/// A strict warm start found tensors it could not copy; the message lists them.
class WarmStartError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// What happened to one tensor of the target model.
enum class WarmStartStatus {
  kCopied,         ///< copied from the source (same name and shape)
  kMissing,        ///< not in the source; the model keeps its initial value
  kShapeMismatch,  ///< in the source with another shape; the model keeps its initial value
  kFresh,          ///< quantizer state absent from (or mis-shaped in) the source: starts fresh
};

/// One tensor of the target model and its fate.
struct WarmStartEntry {
  /// Dotted name, e.g. "fc1.weight".
  std::string name;
  /// What happened to it.
  WarmStartStatus status = WarmStartStatus::kCopied;
  /// The target's shape as text, e.g. "(32, 22)".
  std::string target_shape;
  /// The source's shape as text ("" when missing in the source).
  std::string source_shape;
};

/// The outcome of a warm start.
struct WarmStartReport {
  /// Every tensor of the target model, in the model's order.
  std::vector<WarmStartEntry> entries;
  /// Source tensors the target has no tensor for.
  std::vector<std::string> unused;

  /// Number of copied tensors.
  int copied() const;
  /// Number of skipped (missing or mis-shaped) non-quantizer tensors.
  int skipped() const;
  /// Number of quantizer tensors that start fresh.
  int fresh() const;
  /// The report as printed: one line per tensor, then `Copied: N  Skipped: M` totals.
  std::string text(const std::string& source, const std::string& target) const;
};

/// True when a tensor name lies inside a quantizer submodule (a path part ending in "_quant"),
/// whose state an FP source does not have.
bool is_quantizer_state(const std::string& name);

/// Copies every tensor of `model` that `source` holds with the same name and shape. With
/// `strict`, throws WarmStartError listing every skipped non-quantizer tensor (nothing is copied
/// then); quantizer state missing in the source is never an error. Batch norms that `source`
/// marks folded are folded in `model` first (quantize/batch_norm_fold.h).
WarmStartReport warm_start(torch::nn::Module& model, const NamedTensors& source, bool strict);

}  // namespace lowbit::train
