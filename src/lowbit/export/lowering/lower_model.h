// Conversion of a trained quantized torch model into an IntegerModel (docs/export.md,
// "Conversion from a trained model").
#pragma once

#include <c10/util/ArrayRef.h>
#include <torch/nn/module.h>

#include <cstdint>
#include <string>

#include "lowbit/export/integer_model.h"

namespace lowbit::exporter {

/// What one sample of a data set is to the integer model: a CHW frame, and the time steps of a
/// sequence (0 for plain samples).
struct SampleShape {
  /// A plain sample of shape `frame` (time_steps 0), or T frames of it.
  SampleShape(const Shape& frame_shape = {},
              int64_t steps = 0)  // NOLINT(google-explicit-constructor)
      : frame(frame_shape), time_steps(steps) {}
  Shape frame;             ///< CHW shape of one sample, or of one time step's frame.
  int64_t time_steps = 0;  ///< T of sequence inputs [N, T, C, H, W]; 0 otherwise.
};

/// The sample shape of data set inputs with sizes `sizes` ([N, F], [N, H, W], [N, C, H, W] or
/// sequences [N, T, C, H, W]); other ranks are std::invalid_argument naming `what`.
SampleShape sample_shape_of(c10::IntArrayRef sizes, const std::string& what);

/// Lowers a trained model to an IntegerModel: walks models::model_graph(model) (a chain of the
/// model's children, or the model's own graph) and turns each node into integer layers. Layers:
/// QActivation, QLinear, QConv2d, BatchNorm1d/2d (folded into the preceding layer at export;
/// skipped when fold_batchnorm already folded it during training), Dropout (skipped), Flatten and
/// MaxPool2d/AvgPool2d, QConvTranspose2d and Leaky neurons; graph nodes also slice features,
/// concatenate, add, crop, apply a leaky ReLU and average over time. A last node marked `host`
/// (a sigmoid on the logit) is left to the host. `input` is one sample's shape ({features, 1, 1}
/// for vectors; with time steps, the model is a sequence model). Puts `model` in eval mode.
/// Throws std::invalid_argument naming the layer for anything not fully quantized or not
/// supported.
IntegerModel lower_model(torch::nn::Module& model, const SampleShape& input,
                         const std::string& name = "model");

}  // namespace lowbit::exporter
