// Building ONNX protobuf graphs node by node (internal to src/lowbit/export/onnx/). Only files
// compiled with libonnx-dev's definitions (ONNX_ML=1, ONNX_NAMESPACE=onnx; CMakeLists.txt sets them
// on this folder) may include this header; the public headers of the folder are protobuf-free.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

#include "lowbit/export/integer_model.h"
#include "lowbit/export/onnx/onnx_options.h"

namespace lowbit::exporter {

/// Name of the symbolic batch dimension of every graph input and output.
inline constexpr const char* kOnnxBatchDim = "N";

/// One attribute of a node: name and a value of one of the kinds the writers use.
struct OnnxAttribute {
  /// The value kind.
  enum class Kind { kInt, kFloat, kString, kInts };
  std::string name;           ///< Attribute name.
  Kind kind = Kind::kInt;     ///< Which value below is set.
  int64_t i = 0;              ///< kInt value.
  float f = 0;                ///< kFloat value.
  std::string s;              ///< kString value.
  std::vector<int64_t> ints;  ///< kInts value.
  std::string ref_attr_name;  ///< In a function body: the caller's attribute this one takes.
};

/// An int attribute.
OnnxAttribute attr_int(const std::string& name, int64_t value);
/// A float attribute.
OnnxAttribute attr_float(const std::string& name, float value);
/// A string attribute.
OnnxAttribute attr_string(const std::string& name, const std::string& value);
/// An ints attribute.
OnnxAttribute attr_ints(const std::string& name, std::vector<int64_t> values);

/// Adds nodes, initializers, inputs and outputs to a GraphProto (or a FunctionProto's nodes) with
/// unique names.
class OnnxGraphBuilder {
 public:
  /// Builds into `graph` (not owned; outlives the builder).
  explicit OnnxGraphBuilder(::onnx::GraphProto* graph);

  /// `base` made unique among the names this builder gave out (base, base_1, base_2, ...).
  std::string unique(const std::string& base);

  /// A float initializer with dims `dims` (values written to float_data, which hls4ml's Clip
  /// handler reads); returns its (unique) name.
  std::string add_float(const std::string& name, const std::vector<int64_t>& dims,
                        const std::vector<float>& values);
  /// A scalar float initializer.
  std::string add_float_scalar(const std::string& name, double value);
  /// An int8 initializer (raw_data).
  std::string add_int8(const std::string& name, const std::vector<int64_t>& dims,
                       const std::vector<int8_t>& values);
  /// A uint8 initializer (raw_data).
  std::string add_uint8(const std::string& name, const std::vector<int64_t>& dims,
                        const std::vector<uint8_t>& values);
  /// An int32 initializer.
  std::string add_int32(const std::string& name, const std::vector<int64_t>& dims,
                        const std::vector<int32_t>& values);
  /// An int64 initializer.
  std::string add_int64(const std::string& name, const std::vector<int64_t>& dims,
                        const std::vector<int64_t>& values);

  /// A node with a unique name from `name`; empty input names are optional inputs left out.
  /// Returns the node (valid until the next node is added).
  ::onnx::NodeProto& add_node(const std::string& op_type, const std::string& name,
                              const std::vector<std::string>& inputs,
                              const std::vector<std::string>& outputs,
                              const std::vector<OnnxAttribute>& attributes = {},
                              const std::string& domain = "");

  /// A Flatten (axis 1) of `input` to [N, rest]: no arithmetic, exact; returns the output's
  /// name (`input`_flat made unique).
  std::string add_flatten(const std::string& input);
  /// A Reshape of `input` to [N, dims...] (the batch as -1); returns the output's name
  /// (`input`_image made unique).
  std::string add_reshape_to_image(const std::string& input, const std::vector<int64_t>& dims);

  /// A graph input of element type `elem_type` and shape {N, dims...}.
  void add_input(const std::string& name, int32_t elem_type, const std::vector<int64_t>& dims);
  /// A graph output of element type `elem_type` and shape {N, dims...}.
  void add_output(const std::string& name, int32_t elem_type, const std::vector<int64_t>& dims);

 private:
  ::onnx::GraphProto* graph_;
  std::vector<std::string> used_;
};

/// Sets the attributes of `node` (shared by graph nodes and function-body nodes).
void set_attributes(::onnx::NodeProto& node, const std::vector<OnnxAttribute>& attributes);

/// A model proto around an empty graph named `graph_name`: producer lowbit, IR version
/// `ir_version`, the default domain at `opset` and `extra_domains` at version 1.
::onnx::ModelProto make_model_proto(const std::string& graph_name, int64_t ir_version, int opset,
                                    const std::vector<std::string>& extra_domains = {});

/// Records the format, the integer model's name and the provenance as metadata_props of `model`.
void add_provenance(::onnx::ModelProto& model, const std::string& model_name,
                    const OnnxOptions& options);

/// Serialized bytes of a model; throws std::runtime_error if protobuf cannot serialize it.
std::string serialize_model(const ::onnx::ModelProto& model);

}  // namespace lowbit::exporter
