// Property checks every fixed-grid quantizer must pass, shared by the quantizer tests.
#pragma once

#include <gtest/gtest.h>
#include <torch/autograd.h>
#include <torch/types.h>

#include <string>
#include <vector>

#include "lowbit/quant/quantizer.h"

namespace lowbit::quant::testing {

/// The shapes the sweeps use: awkward lengths and a few ranks.
inline std::vector<std::vector<int64_t>> awkward_shapes() {
  return {{1}, {3}, {7}, {17}, {33}, {1, 5}, {3, 7}, {7, 3}, {17, 33}, {4, 3, 3}, {5, 2, 3, 3}};
}

/// forward(x) equals integer_form(x).dequantize() bit for bit, codes lie in [code_min, code_max],
/// at most 2^bits distinct codes appear, and the form reports the quantizer's bit width.
inline void expect_integer_form_matches(QuantizerImpl& q, const torch::Tensor& x,
                                        const std::string& what) {
  const torch::Tensor y = q.forward(x);
  const IntegerForm form = q.integer_form(x);
  ASSERT_EQ(form.codes.scalar_type(), torch::kInt32) << what;
  ASSERT_EQ(form.codes.sizes(), x.sizes()) << what;
  EXPECT_TRUE(torch::equal(form.dequantize(), y)) << what;
  EXPECT_GE(form.codes.min().item<int64_t>(), form.code_min) << what;
  EXPECT_LE(form.codes.max().item<int64_t>(), form.code_max) << what;
  EXPECT_LE(std::get<0>(torch::_unique(form.codes)).numel(), int64_t{1} << q.bits()) << what;
  EXPECT_EQ(form.bits, q.bits()) << what;
}

/// Every output value is one of the grid's levels (per-tensor levels {L} or per-channel {C, L}).
inline void expect_on_levels(const torch::Tensor& y, const torch::Tensor& levels,
                             const std::string& what) {
  if (levels.dim() == 1) {
    EXPECT_TRUE(torch::isin(y.flatten(), levels).all().item<bool>()) << what;
    return;
  }
  const torch::Tensor rows = y.reshape({levels.size(0), -1});
  for (int64_t c = 0; c < levels.size(0); ++c) {
    EXPECT_TRUE(torch::isin(rows[c], levels[c]).all().item<bool>()) << what << " channel " << c;
  }
}

}  // namespace lowbit::quant::testing
