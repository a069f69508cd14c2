// Checking written ONNX files with ONNX's own C++ checker, and reading one back as plain data for
// tests and tools (which node carries which attributes, initializer shapes). No protobuf here.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace lowbit::exporter {

/// Largest default-domain opset Debian's libonnx (1.12) knows; later files are not checked.
inline constexpr int kOnnxCheckerMaxOpset = 17;

/// Runs onnx::checker::check_model (graph, node schemas of the standard domain, model-local
/// functions) on serialized `bytes`. Throws std::invalid_argument naming `what` with the checker's
/// message when the model is invalid or cannot be parsed. Returns false (nothing checked) when
/// the file's opset or IR version is newer than the checker knows.
bool check_onnx_model(const std::string& bytes, const std::string& what);

/// One node of a model read back.
struct OnnxNodeSummary {
  std::string name;                                       ///< Node name.
  std::string op_type;                                    ///< Operator.
  std::string domain;                                     ///< "" for the standard domain.
  std::vector<std::string> inputs;                        ///< Input names.
  std::vector<std::string> outputs;                       ///< Output names.
  std::map<std::string, int64_t> ints;                    ///< INT attributes.
  std::map<std::string, double> floats;                   ///< FLOAT attributes.
  std::map<std::string, std::string> strings;             ///< STRING attributes.
  std::map<std::string, std::vector<int64_t>> int_lists;  ///< INTS attributes.
};

/// One initializer of a model read back.
struct OnnxInitializerSummary {
  std::vector<int64_t> dims;   ///< Shape.
  int32_t data_type = 0;       ///< ONNX TensorProto data type (1 float, 2 uint8, 3 int8, ...).
  std::vector<double> values;  ///< Values (float, int8, uint8, int32, int64 data; INT4 unpacked).
};

/// A model read back: opsets, graph inputs/outputs, nodes in order, initializers by name,
/// names of model-local functions.
struct OnnxSummary {
  int64_t ir_version = 0;                 ///< IR version.
  std::map<std::string, int64_t> opsets;  ///< Opset version by domain ("" standard).
  std::vector<std::string> inputs;        ///< Graph input names.
  std::vector<std::string> outputs;       ///< Graph output names.
  std::vector<OnnxNodeSummary> nodes;     ///< Nodes in graph order.
  std::map<std::string, OnnxInitializerSummary> initializers;  ///< By name.
  std::vector<std::string> functions;           ///< "domain:name" of model-local functions.
  std::map<std::string, std::string> metadata;  ///< metadata_props.

  /// The nodes of one op type, in order.
  std::vector<const OnnxNodeSummary*> nodes_of(const std::string& op_type) const;
  /// The node that writes `tensor`, or nullptr.
  const OnnxNodeSummary* producer_of(const std::string& tensor) const;
};

/// Parses serialized `bytes`; throws std::invalid_argument naming `what` when they are not a
/// ModelProto.
OnnxSummary summarize_onnx_model(const std::string& bytes, const std::string& what);

}  // namespace lowbit::exporter
