// Running an ONNX file under ONNX Runtime through tools/onnx/run_model.js (Node.js and the npm
// package onnxruntime-node, installed into tools/onnx by scripts/setup.sh): Debian has no ONNX
// Runtime, and the npm package ships its CPU library.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lowbit::exporter {

/// How to run ONNX Runtime.
struct OrtRunOptions {
  /// Graph optimisation level: "disabled" (each node by its own kernel: the float QDQ
  /// semantics), "basic", "extended" or "all" (QDQ groups fused into integer kernels).
  std::string optimize = "disabled";
  /// Folder holding run_model.js and node_modules/onnxruntime-node.
  std::string tools_dir = std::string(LOWBIT_SOURCE_DIR) + "/tools/onnx";
  int threads = 1;  ///< Intra-op threads (1: deterministic summation order).
};

/// Why ONNX Runtime cannot run here, naming what is missing and how to install it; "" when
/// `node` is on PATH and onnxruntime-node is installed in options.tools_dir.
std::string onnx_runtime_unavailable_reason(const OrtRunOptions& options = {});

/// One graph output as ONNX Runtime returned it.
struct OrtOutput {
  std::string name;            ///< Graph output name.
  std::string type;            ///< "float32", "uint8", "int8", "int32", ...
  std::vector<int64_t> dims;   ///< Shape.
  std::vector<double> values;  ///< Values, row-major.
};

/// Runs `model_path` on one float32 input of shape `dims` (batch first) and returns every graph
/// output in graph order. Files go to `work_folder` (created). Throws lowbit::util::FileError with
/// the runner's output when ONNX Runtime is missing or fails (e.g. rejects the model).
std::vector<OrtOutput> run_onnx_runtime(const std::string& model_path,
                                        const std::vector<float>& input,
                                        const std::vector<int64_t>& dims,
                                        const std::string& work_folder,
                                        const OrtRunOptions& options = {});

}  // namespace lowbit::exporter
