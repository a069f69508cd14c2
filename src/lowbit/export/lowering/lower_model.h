// Conversion of a trained quantized torch model into an IntegerModel (docs/export.md,
// "Conversion from a trained model").
#pragma once

#include <torch/nn/module.h>

#include <string>

#include "lowbit/export/integer_model.h"

namespace lowbit::exporter {

/// Lowers a trained model to an IntegerModel: walks models::model_graph(model) (a chain of the
/// model's children, or the model's own graph) and turns each node into integer layers. Layers:
/// QActivation, QLinear, QConv2d, BatchNorm1d/2d (folded into the preceding layer at export;
/// skipped when fold_batchnorm already folded it during training), Dropout (skipped), Flatten and
/// MaxPool2d/AvgPool2d; graph nodes also slice features and concatenate. A last node marked
/// `host` (a sigmoid on the logit) is left to the host. `input_shape` is one sample's CHW shape
/// ({features, 1, 1} for vectors). Puts `model` in eval mode. Throws std::invalid_argument naming
/// the layer for anything not fully quantized or not supported.
IntegerModel lower_model(torch::nn::Module& model, const Shape& input_shape,
                         const std::string& name = "model");

}  // namespace lowbit::exporter
