// Requantization without 64-bit products, for cores that have none (docs/export.md, "Targets"):
// value ranges of layer inputs, bounds of accumulators, and multipliers rounded so that every
// accumulator times its multiplier fits in 32 bits.
#pragma once

#include <cstdint>
#include <vector>

#include "lowbit/export/integer_model.h"

namespace lowbit::exporter {

/// The weight rows of a fully connected or conv2d layer (`op` must be one): `count` rows of
/// `length` codes, the bias (may be empty) and the requantization.
struct DenseRows {
  const std::vector<int8_t>& weights;  ///< count * length codes, row-major.
  const std::vector<int32_t>& bias;    ///< count values or empty.
  const Requant& requant;              ///< The layer's requantization.
  int64_t count;                       ///< Output features or channels.
  int64_t length;                      ///< Inputs per output (a conv's row_length()).
  WeightFormat format;                 ///< Storage format of the weights.
};

/// The rows of `op`, a FullyConnected or a Conv2d.
DenseRows dense_rows(const Op& op);

/// For each output of fully connected or conv2d layer `index`: a bound of |bias + sum_i (x_i -
/// zp) w_i| over all inputs x in [value_floor, 127] (exact in int64; a conv's padding adds 0).
std::vector<int64_t> accumulator_bounds(const IntegerModel& model, size_t index);

/// A Q31 multiplier and right shift as a 32-bit core computes them: y = round(acc * m / 2^r),
/// with m = multiplier >> t and r = 31 - shift - t for t the multiplier's trailing zero bits
/// (r stays >= 1).
struct ShortMultiplier {
  int32_t m = 0;  ///< Odd (or 0) multiplier.
  int32_t r = 1;  ///< Right shift in [1, 62].
};

/// The short form of a (multiplier, shift) pair (see ShortMultiplier).
ShortMultiplier short_multiplier(int32_t multiplier, int32_t shift);

/// Rounds the multipliers of every fully connected and conv2d layer to the fewest low bits needed
/// so that |accumulator| * m < 2^31 for every reachable accumulator (short_multiplier's m), when
/// that takes at most the multiplier's full precision; the layer's real factor changes by less than
/// 2^-(significant bits) relatively. The model stays a valid integer model that the reference
/// executor and every target compute bit for bit alike; 32-bit cores then need no 64-bit product.
void limit_requant_precision(IntegerModel& model);

/// Whether fully connected or conv2d layer `index` requantizes in 32 bits: every |accumulator
/// bound| * m < 2^31 for its short multipliers.
bool requant_fits_32bit(const IntegerModel& model, size_t index);

}  // namespace lowbit::exporter
