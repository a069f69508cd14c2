// Code generation: an IntegerModel to a self-contained C99 folder (model.h, model.c, model.json
// and a copy of the runtime) that any C99 compiler builds without lowbit.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lowbit/export/export_folder.h"
#include "lowbit/export/integer_model.h"
#include "lowbit/export/model_cost.h"
#include "lowbit/export/provenance.h"
#include "lowbit/export/target.h"

namespace lowbit::exporter {

/// Options of one export.
struct CodegenOptions {
  /// C identifier prefix: generates <prefix>_predict and <PREFIX>_SCRATCH_SIZE etc.
  std::string prefix = "model";
  Provenance provenance;  ///< Recorded provenance.
  /// The runtime folder (with include/ and src/) copied into the export.
  std::string runtime_dir = std::string(LOWBIT_SOURCE_DIR) + "/runtime";
  /// Paths the export folder must never be or contain (the run directory, the checkpoint).
  std::vector<std::string> protected_paths;
  /// Replace a non-empty folder that is not an earlier export (check_export_target).
  bool force = false;
  /// Export target (target.h): which kernels the code calls and how the runtime is configured.
  std::string target = "portable";
};

/// The text of model.h for a model (validates it; throws std::invalid_argument on a bad model
/// or a prefix that is not a C identifier).
std::string generate_header(const IntegerModel& model, const CodegenOptions& options);

/// The text of model.c: packed weights, biases, multipliers and shifts as static const data and
/// <prefix>_predict, which calls the runtime's operators layer by layer.
std::string generate_source(const IntegerModel& model, const CodegenOptions& options);

/// model.json: input/output quantization, every layer with shapes, format, bits, scales, zero
/// points, multipliers, shifts, sizes and MACs, the memory plan totals and the provenance.
nlohmann::json model_json(const IntegerModel& model, const CodegenOptions& options);

/// The text of runtime/include/lowbit_config.h for a target: LOWBIT_PORTABLE for portable ones.
std::string runtime_config_header(const Target& target);

/// Writes the export folder `folder`: model.h, model.c, model.json, runtime/include,
/// runtime/src (and runtime/mcu for MCU targets), with lowbit_config.h set for the target, and
/// the marker file (export_folder.h). An existing `folder` is replaced only when
/// check_export_target allows it. Everything is written into a temporary sibling folder first and
/// renamed into place, so a failure leaves `folder` as it was (an old export there is replaced
/// only at the end). Returns the model's cost. Throws std::invalid_argument (bad model) or
/// lowbit::util::FileError (a refused target, I/O; naming the path).
ModelCost export_model(const IntegerModel& model, const std::string& folder,
                       const CodegenOptions& options);

}  // namespace lowbit::exporter
