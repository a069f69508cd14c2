// Weight and bias initialisers by name, as Keras and QKeras define them, for model builders that
// reproduce a Keras model (kernel_initializer / bias_initializer keys of a model config).
#pragma once

#include <torch/types.h>

#include <string>
#include <vector>

#include "lowbit/quant/quantizer.h"

namespace lowbit::nn {

/// Kernel initialiser names: torch_default (LibTorch's kaiming_uniform(a = sqrt 5)),
/// glorot_uniform (Keras Dense default), glorot_normal, he_uniform, he_normal (QKeras QDense
/// default), lecun_uniform, lecun_normal. Keras's *_normal are truncated at two deviations.
const std::vector<std::string>& kernel_initializer_names();
/// Bias initialiser names: torch_default (uniform +-1/sqrt(fan_in)) and zeros (Keras default).
const std::vector<std::string>& bias_initializer_names();
/// Throws std::invalid_argument naming the valid names when `name` is no kernel initialiser.
void check_kernel_initializer(const std::string& name);
/// Throws std::invalid_argument naming the valid names when `name` is no bias initialiser.
void check_bias_initializer(const std::string& name);

/// Fills `weight` {out, in, ...} in place (fan_in = in * receptive field, fan_out = out *
/// receptive field) with the named initialiser; `variance_scale` multiplies its variance (1: as
/// Keras or LibTorch; torch_default is VarianceScaling(1/3, fan_in, uniform)). Uses torch's RNG.
void init_kernel(torch::Tensor& weight, const std::string& name, double variance_scale = 1.0);
/// Fills `bias` in place with the named initialiser; `weight` gives torch_default's fan_in.
void init_bias(torch::Tensor& bias, const torch::Tensor& weight, const std::string& name);

/// QKeras's QInitializer (qlayers.py), which QDense wraps around every kernel initialiser but
/// zeros/ones: draw `name`; when the grid's step max * 2^-bits exceeds the draw's standard
/// deviation (max = max(1, largest |level|), QKeras's quantizer.max()), multiply the initialiser's
/// variance by max(1, s), s = sum(q^2) / sum(q x) on the quantized draw q (max / rms(x) when q is
/// all zero), and draw again; finally clip to [-max, max]. Without it a 2-bit grid {-1, -0.5, 0,
/// 0.5} rounds every weight of a 64-input layer to zero and no gradient flows. Only for fixed
/// grids (quantizer.scale_is_static()); otherwise it does nothing and returns false. QKeras knows
/// Keras's names only; torch_default is fitted as the VarianceScaling it is (lowbit's extension).
bool fit_kernel_to_grid(torch::Tensor& weight, const std::string& name,
                        quant::QuantizerImpl& quantizer);

}  // namespace lowbit::nn
