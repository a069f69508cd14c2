// Setting one quantizer SPEC on every quantizable layer of a model at once.
#pragma once

#include <torch/nn/module.h>

#include <string>
#include <vector>

namespace lowbit::models {

/// Sets the weight quantizer of every QLinear and QConv2d under `model` ("" removes them);
/// returns the full names of the layers changed.
std::vector<std::string> set_weight_quant(torch::nn::Module& model, const std::string& spec);

/// Sets the bias quantizer of every QLinear and QConv2d with a bias under `model`; returns the
/// full names of the layers changed.
std::vector<std::string> set_bias_quant(torch::nn::Module& model, const std::string& spec);

/// Sets the output quantizer of every QActivation under `model`; returns the full names of the
/// layers changed.
std::vector<std::string> set_activation_quant(torch::nn::Module& model, const std::string& spec);

}  // namespace lowbit::models
