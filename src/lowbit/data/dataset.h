// An in-memory data set: one tensor of inputs and one of targets, indexed along dimension 0.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace lowbit::data {

/// The largest class id a reader accepts: the class count sizes the model's output layer and
/// per-class tables, so an id such as 1e12 must be an error, not an allocation of that size.
inline constexpr int64_t kMaxClassId = 65535;

/// Samples held as two tensors with the same first dimension N.
///
/// `inputs` is float32 [N, ...] (images [N, C, H, W], feature rows [N, F], event tensors
/// [N, T, 2, H, W]). `targets` is either int64 [N] class ids in 0..num_classes-1 (classification
/// with cross-entropy), float32 [N] (binary labels 0/1 for a sigmoid output, or regression
/// values), or dense float32 [N, ...] (per-pixel regression such as optical flow [N, 3, H, W] =
/// (u, v, valid), see event_flow.h); num_classes is 0 for float targets.
struct Dataset {
  torch::Tensor inputs;     ///< float32 [N, ...].
  torch::Tensor targets;    ///< int64 [N] class ids, float32 [N] values or float32 [N, ...].
  std::string name;         ///< Where the data came from, for logs and error messages.
  int64_t num_classes = 0;  ///< Number of classes for int64 targets; 0 for float targets.

  /// Number of samples N.
  int64_t size() const { return inputs.defined() ? inputs.size(0) : 0; }
  /// Throws std::invalid_argument (naming the data set) unless dtypes and sizes fit together.
  void check() const;
  /// The samples at `indices` (int64 [K]), in that order.
  Dataset subset(const torch::Tensor& indices) const;
  /// The samples at `indices`, in that order.
  Dataset subset(const std::vector<int64_t>& indices) const;
};

/// A training part and a validation part of one data set.
struct Split {
  Dataset train;  ///< The samples not drawn for validation, in their original order.
  Dataset val;    ///< round(fraction * N) samples, in their original order.
};

/// Draws round(fraction * N) samples for validation with a permutation fixed by `seed`; the two
/// parts are disjoint and cover the data set. With `stratify` (int64 targets only) each class
/// gives round(fraction * its count) samples, so class proportions are kept.
Split split_validation(const Dataset& dataset, double fraction, uint64_t seed,
                       bool stratify = false);

/// The class count of int64 class ids: the largest id + 1. Throws util::FileError naming `name`
/// (the file) and the offending sample when an id is negative or above kMaxClassId.
int64_t count_classes(const torch::Tensor& targets, const std::string& name);

/// Throws util::FileError naming `name` and the first offending element (its flat index) when a
/// floating-point tensor holds NaN or infinity; `what` says which array it is (e.g. "inputs").
void require_finite(const torch::Tensor& values, const std::string& name, const std::string& what);

/// Number of samples of each class 0..num_classes-1 (int64 targets).
std::vector<int64_t> class_counts(const Dataset& dataset);

}  // namespace lowbit::data
