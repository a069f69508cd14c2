// An affine integer grid (scale, zero point, code range) and the one arithmetic every fixed-grid
// quantizer uses on it: LibTorch's fused fake quantization for training, and the same float32
// steps, spelled out, for the integer form.
#pragma once

#include <torch/types.h>

#include <cstdint>

#include "lowbit/quant/affine/range_estimator.h"
#include "lowbit/quant/integer_form.h"

namespace lowbit::quant {

/// Smallest scale a grid gets, so that an all-zero tensor still has a finite 1/scale.
inline constexpr float kMinScale = 1e-8f;

/// value = (clamp(round(x / scale) + zero_point, qmin, qmax) - zero_point) * scale.
struct AffineGrid {
  torch::Tensor scale;       ///< float32, {} per tensor or {C} per channel.
  torch::Tensor zero_point;  ///< int32, the shape of `scale`.
  int64_t qmin = 0;          ///< Smallest code.
  int64_t qmax = 0;          ///< Largest code.
  int64_t axis = -1;         ///< Channel axis of a per-channel grid; -1 per tensor.
};

/// The grid that covers `range`. Signed grids (qmin < 0) are symmetric: zero point 0 and
/// scale = max(-lo, hi) / qmax. Unsigned grids (qmin >= 0) are affine: the range is widened to
/// include 0, scale = (hi - lo) / (qmax - qmin), and the zero point makes 0 exact.
AffineGrid affine_grid(const ClipRange& range, int64_t qmin, int64_t qmax, int64_t axis);

/// A per-tensor grid with a constant scale and zero point.
AffineGrid constant_grid(double scale, int64_t zero_point, int64_t qmin, int64_t qmax,
                         const torch::Device& device);

/// Fake-quantizes x on the grid in one fused pass: lowbit's CPU kernel for float32 CPU tensors,
/// LibTorch's fused op elsewhere (CUDA); both give the same values. The gradient is the incoming
/// one where the rounded code lies in [qmin, qmax] and zero where it is clipped.
torch::Tensor fake_quantize(const torch::Tensor& x, const AffineGrid& grid);

/// The integer codes of x on the grid, computed with the fused kernel's float32 arithmetic
/// (x * (1/scale), round half to even, + zero point, clamp), so dequantize() equals
/// fake_quantize(x, grid) bit for bit.
torch::Tensor grid_codes(const torch::Tensor& x, const AffineGrid& grid);

/// The integer form of x on the grid.
IntegerForm grid_integer_form(const torch::Tensor& x, const AffineGrid& grid, int bits,
                              bool is_signed);

/// The grid's values, ascending: {L} per tensor, {C, L} per channel.
torch::Tensor grid_levels(const AffineGrid& grid);

}  // namespace lowbit::quant
