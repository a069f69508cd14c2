// Quantizer slots of the quantized layers: a quantizer registered as a named submodule, built
// from a SPEC string, replaceable while training.
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <string>

#include "lowbit/quant/quantizer.h"

namespace lowbit::nn {

/// Builds the quantizer `spec` names for `role`, moves it to `device` and registers it as
/// submodule `name` of `owner`, replacing the one registered there. An empty spec only removes
/// it and returns null. A replaced quantizer's parameters leave the module, so an optimizer
/// must be given the module's parameters again afterwards.
quant::Quantizer install_quantizer(torch::nn::Module& owner, const std::string& name,
                                   const std::string& spec, quant::Role role,
                                   const torch::Device& device);

/// x through `quantizer`, or x itself when there is none.
torch::Tensor apply_quantizer(const quant::Quantizer& quantizer, const torch::Tensor& x);

}  // namespace lowbit::nn
