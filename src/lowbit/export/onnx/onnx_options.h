// What the ONNX backends write (docs/export.md, "ONNX"): the format, its opset and the options
// the tests and `lowbit export --format qdq|qonnx` use. No protobuf here.
#pragma once

#include <string>
#include <vector>

#include "lowbit/export/provenance.h"

namespace lowbit::exporter {

/// The ONNX dialects lowbit writes.
enum class OnnxFormat {
  kQdq,    ///< Standard QuantizeLinear/DequantizeLinear around float ops (ONNX Runtime, TensorRT).
  kQonnx,  ///< QONNX: `Quant`/`BipolarQuant` of domain qonnx.custom_op.general (hls4ml, FINN).
};

/// "qdq" or "qonnx".
const char* onnx_format_name(OnnxFormat format);

/// The format named `name` ("qdq", "qonnx"); throws std::invalid_argument naming it and the
/// choices otherwise.
OnnxFormat onnx_format_named(const std::string& name);

/// Options of one ONNX export.
struct OnnxOptions {
  OnnxFormat format = OnnxFormat::kQdq;  ///< Dialect.
  /// Default-domain opset: QDQ 13..21 (per-axis scales need 13; ONNX's checker in Debian's
  /// libonnx 1.12 checks up to 17), QONNX 13..17.
  int opset = 13;
  /// QDQ at opset >= 21 only: weights of formats with at most 4 bits stored as INT4.
  bool int4_weights = false;
  /// QDQ only: average pools round like lowbit's integer path (half away from zero of the int8
  /// mean) with standard elementwise ops on the codes (Cast, AveragePool, Sign, Abs, Floor),
  /// exact for windows of up to 512 values. False writes DequantizeLinear -> AveragePool ->
  /// QuantizeLinear, which ONNX Runtime fuses, and whose exact .5 means round half to even.
  bool exact_average_pool = true;
  /// Adds every computed layer's quantized output as an extra graph output named after the layer
  /// (QDQ: uint8 codes, QONNX: the float output of its Quant), for per-layer comparisons.
  bool expose_layer_outputs = false;
  /// QONNX only: carries model-local FunctionProto definitions of Quant and BipolarQuant built
  /// from standard ops, so ONNX Runtime can execute the file (hls4ml and FINN ignore them).
  bool runnable_functions = false;
  Provenance provenance;                     ///< Recorded in the model's metadata and model.json.
  std::vector<std::string> protected_paths;  ///< As CodegenOptions::protected_paths.
  bool force = false;                        ///< As CodegenOptions::force.
};

/// Name of the float graph input of every file lowbit writes.
inline constexpr const char* kOnnxInputName = "input";
/// Name of the float graph output (the last layer's dequantized output).
inline constexpr const char* kOnnxOutputName = "output";

}  // namespace lowbit::exporter
