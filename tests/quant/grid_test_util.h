// Checks every fixed grid must pass, shared by the grid test files.
#pragma once

#include <gtest/gtest.h>
#include <torch/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "lowbit/quant/quantizer.h"
#include "lowbit/quant/registry.h"

namespace lowbit::quant::testing {

/// Shapes with awkward lengths (1, 3, 7, 17, 33) and ranks 1 to 4; channels are axis 0.
inline std::vector<std::vector<int64_t>> awkward_shapes() {
  return {{1}, {3}, {7}, {17}, {33}, {1, 7}, {3, 17}, {7, 33}, {17, 3}, {33, 1}, {5, 3, 3, 3}};
}

/// Random weights of a shape, with a heavy-tailed outlier mix so clipping is exercised.
inline torch::Tensor random_weights(const std::vector<int64_t>& shape) {
  torch::Tensor x = torch::randn(shape) * 0.1;
  const torch::Tensor outlier = torch::rand(shape) < 0.05;
  return torch::where(outlier, x * 8, x);
}

/// Whether every value of y equals one of its grid's levels ({L} per tensor, {C, L} per channel).
inline bool on_grid(const torch::Tensor& y, const torch::Tensor& levels) {
  if (levels.dim() == 1)
    return (y.reshape({-1, 1}) == levels.unsqueeze(0)).any(1).all().item<bool>();
  const torch::Tensor rows = y.reshape({levels.size(0), -1, 1});
  return (rows == levels.unsqueeze(1)).any(2).all().item<bool>();
}

/// The invariants of one quantizer on one input: exact integer form, codes in range, at most
/// 2^bits distinct codes, outputs on the grid, and a fixed point once the scale is frozen.
inline void expect_grid_invariants(const Quantizer& q, const torch::Tensor& x) {
  SCOPED_TRACE(q->spec().str() + " on shape " + std::to_string(x.numel()) + " elements");
  q->train();
  q->set_frozen(false);
  const torch::Tensor y = q->forward(x);
  const IntegerForm form = q->integer_form(x);
  EXPECT_EQ(form.codes.scalar_type(), torch::kInt32);
  EXPECT_EQ(form.codes.sizes(), x.sizes());
  EXPECT_TRUE(torch::equal(form.dequantize(), y));
  EXPECT_GE(form.codes.min().item<int64_t>(), form.code_min);
  EXPECT_LE(form.codes.max().item<int64_t>(), form.code_max);
  EXPECT_LE(std::get<0>(torch::_unique(form.codes)).numel(), int64_t{1} << q->bits());
  EXPECT_EQ(form.bits, q->bits());
  EXPECT_TRUE(on_grid(y, q->levels(x)));
  // Frozen, the scale recorded by the training-mode forward above is reused: a fixed point.
  q->set_frozen(true);
  EXPECT_TRUE(torch::equal(q->forward(y), y));
  EXPECT_TRUE(torch::equal(q->integer_form(y).codes, form.codes));
  q->set_frozen(false);
}

/// Runs expect_grid_invariants over every awkward shape, per tensor and per channel.
inline void expect_invariants_on_awkward_shapes(const std::string& spec_text) {
  torch::manual_seed(7);
  for (const bool per_channel : {false, true}) {
    const std::string text = spec_text + (spec_text.find(':') == std::string::npos ? ":" : ",") +
                             "per_channel=" + (per_channel ? "1" : "0");
    const Quantizer q = make_quantizer(std::string_view(text));
    for (const auto& shape : awkward_shapes()) expect_grid_invariants(q, random_weights(shape));
  }
}

}  // namespace lowbit::quant::testing
