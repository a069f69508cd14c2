// Running an exported ONNX file under ONNX Runtime and comparing every layer with the C++ integer
// reference in code units (docs/export.md, "ONNX"; docs/results.md has the figures).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lowbit/export/integer_model.h"
#include "lowbit/export/onnx/onnx_options.h"
#include "lowbit/export/onnx/onnx_runtime.h"

namespace lowbit::exporter {

/// Agreement of one computed layer (fully connected, conv2d, pool, concat) over a batch. The
/// ONNX graph runs on its own earlier outputs, so a difference propagates: a mismatch in a sample
/// where an input of the layer already differed is "propagated", the others are the layer's own.
struct OnnxLayerAgreement {
  std::string layer;           ///< Layer name.
  int64_t values = 0;          ///< Output codes compared.
  int64_t mismatches = 0;      ///< Codes that differ from the reference.
  int max_abs_diff = 0;        ///< Largest |ONNX code - reference code|.
  int64_t own_mismatches = 0;  ///< Mismatches in samples whose layer inputs all agreed.
  /// Own mismatches where the reference's exact result lies on a rounding boundary: an exact .5
  /// of an average pool, or a requantization whose result changes when its factor moves by 2^-16
  /// relative (the ties and near-ties where round-half-away vs half-even and float32 vs fixed
  /// point may differ).
  int64_t own_at_boundary = 0;
  int max_own_diff = 0;  ///< Largest |diff| among own mismatches.
};

/// Agreement of a whole model.
struct OnnxAgreement {
  OnnxFormat format = OnnxFormat::kQdq;    ///< Dialect run.
  std::string optimize;                    ///< ONNX Runtime's graph optimisation level.
  int64_t samples = 0;                     ///< Samples run.
  std::vector<OnnxLayerAgreement> layers;  ///< Computed layers in order; the last is the output.

  /// Sum of mismatches over layers.
  int64_t mismatches() const;
  /// Sum of own mismatches over layers.
  int64_t own_mismatches() const;
  /// Sum of own mismatches at a rounding boundary over layers.
  int64_t own_at_boundary() const;
  /// Largest max_abs_diff over layers.
  int max_abs_diff() const;
  /// Largest max_own_diff over layers.
  int max_own_diff() const;
  /// A summary line and one line per layer.
  std::string describe() const;
};

/// Writes `model` as options.format (with every layer exposed, and for QONNX the runnable
/// FunctionProtos) into `work_folder`, runs it under ONNX Runtime on the `samples` int8 inputs
/// (back to back, fed as the floats input_scale * (q - zero_point)) and compares each computed
/// layer with ReferenceExecutor in code units (QDQ: uint8 code - 128; QONNX and the float
/// output: round(y / scale) + zero point). Throws what run_onnx_runtime and the writers throw.
OnnxAgreement compare_onnx_with_reference(const IntegerModel& model,
                                          const std::vector<int8_t>& inputs, int64_t samples,
                                          const std::string& work_folder, OnnxOptions options,
                                          const OrtRunOptions& run = {});

}  // namespace lowbit::exporter
