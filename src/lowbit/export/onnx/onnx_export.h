// The ONNX backends' entry points (docs/export.md, "ONNX"): an IntegerModel as a QDQ or QONNX
// file, checked by ONNX's checker, and the export folder holding it.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "lowbit/export/integer_model.h"
#include "lowbit/export/onnx/onnx_options.h"

namespace lowbit::exporter {

/// File name of the model in an ONNX export folder.
inline constexpr const char* kOnnxModelFile = "model.onnx";

/// The serialized model in options.format, checked with ONNX's checker where its opset allows
/// (`checked` tells whether it was, when not null). Throws std::invalid_argument naming the
/// format and the layer (a bad model or option) or the checker's message.
std::string onnx_model_bytes(const IntegerModel& model, const OnnxOptions& options,
                             bool* checked = nullptr);

/// model.json of an ONNX export: format "lowbit-onnx-model", the ONNX dialect and opset, the
/// file, whether the checker ran, the input's and output's names, shapes, scales and zero
/// points (how to quantize inputs and read outputs), every layer's output quantization and the
/// provenance.
nlohmann::json onnx_model_json(const IntegerModel& model, const OnnxOptions& options, bool checked);

/// What export_onnx wrote.
struct OnnxExportResult {
  std::string model_path;  ///< folder/model.onnx.
  int64_t file_bytes = 0;  ///< Size of model.onnx.
  bool checked = false;    ///< Whether ONNX's checker checked it (opset <= 17).
};

/// Writes the export folder `folder`: model.onnx, model.json and the export marker, with the
/// rules of export_model (check_export_target: a new or empty folder or an earlier export,
/// `force` for another folder, never the run or its checkpoints; written into a temporary
/// sibling and renamed into place, so a failure leaves `folder` as it was). Throws
/// std::invalid_argument (bad model or option) or lowbit::util::FileError (refused target, I/O).
OnnxExportResult export_onnx(const IntegerModel& model, const std::string& folder,
                             const OnnxOptions& options);

}  // namespace lowbit::exporter
