// The QDQ backend: an IntegerModel as a standard ONNX graph of QuantizeLinear/DequantizeLinear
// around float operators, the form ONNX Runtime fuses into integer kernels (docs/export.md,
// "ONNX").
#pragma once

#include <string>

#include "lowbit/export/integer_model.h"
#include "lowbit/export/onnx/onnx_options.h"

namespace lowbit::exporter {

/// Serialized ModelProto of `model` in QDQ form (options.format is ignored). Validates the model
/// and the options (opset 13..21, int4_weights only at opset >= 21); throws std::invalid_argument
/// naming the layer or option and "qdq".
std::string write_qdq_model(const IntegerModel& model, const OnnxOptions& options);

}  // namespace lowbit::exporter
