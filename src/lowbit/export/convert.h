// Conversion of a trained quantized torch model into an IntegerModel (docs/export.md,
// "Conversion from a trained model").
#pragma once

#include <torch/nn/module.h>

#include <string>

#include "lowbit/export/integer_model.h"
#include "lowbit/models/smartpix_model2.h"

namespace lowbit::exporter {

/// Converts a chain model: the children of `model` in registration order (Sequential children
/// are walked into) applied one after the other, made of QActivation, QLinear, QConv2d,
/// BatchNorm1d/2d (folded into the preceding layer at export; skipped when fold_batchnorm already
/// folded it into the layer's weights during training), Dropout (skipped), Flatten and
/// MaxPool2d/AvgPool2d. `input_shape` is one sample's CHW shape ({features, 1, 1} for vectors).
/// Puts `model` in eval mode. Throws std::invalid_argument naming the layer for anything not
/// fully quantized or not supported.
IntegerModel convert_chain(torch::nn::Module& model, const Shape& input_shape,
                           const std::string& name = "model");

/// Converts the two-branch smart-pixel model (two input slices, two dense branches, a concat,
/// the merged chain). A final sigmoid output_activation is left to the host (the integer output
/// is then the logit quantized by `output`'s output quantizer); hard_sigmoid is merged. Puts
/// `model` in eval mode; throws std::invalid_argument naming the layer like convert_chain.
IntegerModel convert_smartpix_model2(models::SmartpixModel2Impl& model,
                                     const std::string& name = "smartpix_model2");

}  // namespace lowbit::exporter
