// The export folder as a thing on disk, shared by every backend: the marker that says "lowbit
// export wrote this", the rules for which existing path an export may replace, writing a folder
// all at once, and reading model.json back for `lowbit verify` and `lowbit size`.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace lowbit::exporter {

/// Name of the marker file in every export folder.
inline constexpr const char* kExportMarkerName = ".lowbit-export";
/// Version written on the marker's first line ("lowbit-export 1").
inline constexpr int kExportMarkerVersion = 1;

/// The marker file's text.
std::string export_marker_text();

/// True when `folder` is a directory written by `lowbit export`: it holds the marker, or (exports
/// written before the marker existed) exactly model.h, model.c, model.json and runtime/ with
/// model.json's format "lowbit-integer-model".
bool is_export_folder(const std::string& folder);

/// Throws util::FileError naming `target` and the reason unless an export may put a folder at
/// `target`: it must not exist, be an empty folder, or be an earlier export (is_export_folder);
/// with `force`, any other folder too. Never, even with `force`: a regular file or link, a folder
/// that is or contains a path of `protected_paths` (the run directory, the checkpoint), the
/// working directory or $HOME or a folder above them, or a folder holding lowbit training results
/// (a run's config.yaml with stage folders, a best.pt or last.pt checkpoint).
void check_export_target(const std::string& target, const std::vector<std::string>& protected_paths,
                         bool force);

/// `text` safe inside a C block comment and an error message: control characters and '*' (so no
/// "*/") become '_'.
std::string c_comment_safe(const std::string& text);

/// Throws std::invalid_argument unless `prefix` is a C identifier ([A-Za-z_][A-Za-z0-9_]*): the
/// C backend's symbol prefix, checked where it is written and where model.json is read back.
void check_prefix(const std::string& prefix);

/// Writes the export folder `folder` all at once. Checks it (check_export_target), removes what
/// killed exports left beside it, lets `write_files` fill a fresh temporary sibling folder, adds
/// the marker and renames the sibling into place; an old export there is replaced only at the
/// end, so any failure leaves `folder` as it was. Errors are util::FileError naming the path,
/// prefixed with `who` ("codegen", "onnx export"). Returns the absolute folder path.
std::filesystem::path write_export_folder(
    const std::string& folder, const std::vector<std::string>& protected_paths, bool force,
    const std::string& who, const std::function<void(const std::filesystem::path&)>& write_files);

/// One layer's sizes as a C export's model.json records them.
struct ExportLayerSize {
  std::string name;           ///< Layer name.
  std::string op;             ///< "fully_connected", "conv2d", "max_pool", ...
  int bits = 0;               ///< Bits per stored weight; 0 for layers without weights.
  int64_t weight_bytes = 0;   ///< Packed weights.
  int64_t bias_bytes = 0;     ///< Biases.
  int64_t requant_bytes = 0;  ///< Multipliers and shifts.
  int64_t flash_bytes = 0;    ///< The three above.
  int64_t output_bytes = 0;   ///< Bytes of its output activation.
  int64_t macs = 0;           ///< Multiply-accumulates per inference.
};

/// The whole model's sizes as a C export's model.json records them ("sizes").
struct ExportSizes {
  int64_t flash_bytes = 0;           ///< Weights, biases, requantization constants.
  int64_t arena_bytes = 0;           ///< Activation arena.
  int64_t kernel_scratch_bytes = 0;  ///< Operator work memory.
  int64_t scratch_bytes = 0;         ///< Arena plus operator work memory.
  int64_t input_bytes = 0;           ///< One input sample.
  int64_t output_bytes = 0;          ///< One output.
  int64_t macs = 0;                  ///< Multiply-accumulates per inference.
  int64_t time_steps = 0;     ///< Time steps of a sequence model (0: not one, or not recorded).
  int64_t state_bytes = 0;    ///< A sequence model's state between steps (in scratch_bytes).
  int64_t macs_per_step = 0;  ///< A sequence model's multiply-accumulates per time step.
  std::vector<ExportLayerSize> layers;  ///< Per layer, in order.
};

/// What an export's model.json records, as verify and size need it.
struct ExportInfo {
  /// What the folder holds: "c" (model.json format "lowbit-integer-model"), or the ONNX dialect
  /// "qdq" or "qonnx" (format "lowbit-onnx-model", its model.onnx).
  std::string format = "c";
  std::string prefix;      ///< C identifier prefix (checked as export checks it); C only.
  std::string stage;       ///< provenance.stage.
  std::string source_run;  ///< provenance.source_run.
  /// Export target (target.h); "portable" for exports written before targets existed.
  std::string target = "portable";
  int opset = 0;                    ///< ONNX only: the default-domain opset.
  bool runnable_functions = false;  ///< QONNX only: whether it carries Quant's FunctionProtos.
  /// C only: the recorded sizes, so `lowbit size` can read an export whose run is gone; unset
  /// for exports written before model.json had them.
  std::optional<ExportSizes> sizes;
};

/// Parses model.json's `text`; throws util::FileError naming `path` and the key or JSON error
/// when it is not an export's model.json (format, version, prefix or ONNX dialect, provenance).
ExportInfo parse_export_info(const std::string& text, const std::string& path);

/// Reads and parses `folder`/model.json (parse_export_info); throws util::FileError naming it.
ExportInfo read_export_info(const std::string& folder);

}  // namespace lowbit::exporter
