// Quantizing a tensor once, outside training: what `lowbit quantize` and `lowbit survey` do.
#pragma once

#include <torch/types.h>

#include "lowbit/quant/integer_form.h"
#include "lowbit/quant/quantizer.h"

namespace lowbit::cli {

/// Calibrates `q` on `x` and returns its eval-mode output; fills `form` when it is not null.
/// Calibration is one training-mode forward pass without gradients: observers (min/max, EMA)
/// take x's statistics and learned step sizes or clipping levels take their initial value from x.
/// Nothing is learned beyond that initialisation. Then the eval-mode pass gives the output and
/// the integer form, which read that state and do not change it.
torch::Tensor quantize_once(quant::QuantizerImpl& q, const torch::Tensor& x,
                            quant::IntegerForm* form = nullptr);

}  // namespace lowbit::cli
