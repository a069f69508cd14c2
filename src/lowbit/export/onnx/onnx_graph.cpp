#include "lowbit/export/onnx/onnx_graph.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <utility>

namespace lowbit::exporter {

namespace {

::onnx::TensorProto& new_initializer(::onnx::GraphProto* graph, const std::string& name,
                                     const std::vector<int64_t>& dims, int32_t type) {
  ::onnx::TensorProto& tensor = *graph->add_initializer();
  tensor.set_name(name);
  tensor.set_data_type(type);
  for (int64_t d : dims) tensor.add_dims(d);
  return tensor;
}

void check_count(const std::string& name, const std::vector<int64_t>& dims, size_t count) {
  int64_t expected = 1;
  for (int64_t d : dims) expected *= d;
  if (expected != static_cast<int64_t>(count)) {
    throw std::logic_error("onnx initializer '" + name + "': " + std::to_string(count) +
                           " values for " + std::to_string(expected) + " elements");
  }
}

void set_tensor_type(::onnx::ValueInfoProto& info, int32_t elem_type,
                     const std::vector<int64_t>& dims) {
  ::onnx::TypeProto_Tensor& tensor = *info.mutable_type()->mutable_tensor_type();
  tensor.set_elem_type(elem_type);
  ::onnx::TensorShapeProto& shape = *tensor.mutable_shape();
  shape.add_dim()->set_dim_param(kOnnxBatchDim);
  for (int64_t d : dims) shape.add_dim()->set_dim_value(d);
}

}  // namespace

OnnxAttribute attr_int(const std::string& name, int64_t value) {
  OnnxAttribute a;
  a.name = name;
  a.kind = OnnxAttribute::Kind::kInt;
  a.i = value;
  return a;
}

OnnxAttribute attr_float(const std::string& name, float value) {
  OnnxAttribute a;
  a.name = name;
  a.kind = OnnxAttribute::Kind::kFloat;
  a.f = value;
  return a;
}

OnnxAttribute attr_string(const std::string& name, const std::string& value) {
  OnnxAttribute a;
  a.name = name;
  a.kind = OnnxAttribute::Kind::kString;
  a.s = value;
  return a;
}

OnnxAttribute attr_ints(const std::string& name, std::vector<int64_t> values) {
  OnnxAttribute a;
  a.name = name;
  a.kind = OnnxAttribute::Kind::kInts;
  a.ints = std::move(values);
  return a;
}

void set_attributes(::onnx::NodeProto& node, const std::vector<OnnxAttribute>& attributes) {
  for (const OnnxAttribute& a : attributes) {
    ::onnx::AttributeProto& attr = *node.add_attribute();
    attr.set_name(a.name);
    if (!a.ref_attr_name.empty()) attr.set_ref_attr_name(a.ref_attr_name);
    switch (a.kind) {
      case OnnxAttribute::Kind::kInt:
        attr.set_type(::onnx::AttributeProto_AttributeType_INT);
        if (a.ref_attr_name.empty()) attr.set_i(a.i);
        break;
      case OnnxAttribute::Kind::kFloat:
        attr.set_type(::onnx::AttributeProto_AttributeType_FLOAT);
        if (a.ref_attr_name.empty()) attr.set_f(a.f);
        break;
      case OnnxAttribute::Kind::kString:
        attr.set_type(::onnx::AttributeProto_AttributeType_STRING);
        if (a.ref_attr_name.empty()) attr.set_s(a.s);
        break;
      case OnnxAttribute::Kind::kInts:
        attr.set_type(::onnx::AttributeProto_AttributeType_INTS);
        for (int64_t v : a.ints) attr.add_ints(v);
        break;
    }
  }
}

OnnxGraphBuilder::OnnxGraphBuilder(::onnx::GraphProto* graph) : graph_(graph) {}

std::string OnnxGraphBuilder::unique(const std::string& base) {
  std::string name = base;
  for (int k = 1; std::find(used_.begin(), used_.end(), name) != used_.end(); ++k) {
    name = base + "_" + std::to_string(k);
  }
  used_.push_back(name);
  return name;
}

std::string OnnxGraphBuilder::add_float(const std::string& name, const std::vector<int64_t>& dims,
                                        const std::vector<float>& values) {
  const std::string unique_name = unique(name);
  check_count(unique_name, dims, values.size());
  ::onnx::TensorProto& t = new_initializer(graph_, unique_name, dims, ::onnx::TensorProto::FLOAT);
  for (float v : values) t.add_float_data(v);
  return unique_name;
}

std::string OnnxGraphBuilder::add_float_scalar(const std::string& name, double value) {
  return add_float(name, {}, {static_cast<float>(value)});
}

std::string OnnxGraphBuilder::add_int8(const std::string& name, const std::vector<int64_t>& dims,
                                       const std::vector<int8_t>& values) {
  const std::string unique_name = unique(name);
  check_count(unique_name, dims, values.size());
  ::onnx::TensorProto& t = new_initializer(graph_, unique_name, dims, ::onnx::TensorProto::INT8);
  t.set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size()));
  return unique_name;
}

std::string OnnxGraphBuilder::add_uint8(const std::string& name, const std::vector<int64_t>& dims,
                                        const std::vector<uint8_t>& values) {
  const std::string unique_name = unique(name);
  check_count(unique_name, dims, values.size());
  ::onnx::TensorProto& t = new_initializer(graph_, unique_name, dims, ::onnx::TensorProto::UINT8);
  t.set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size()));
  return unique_name;
}

std::string OnnxGraphBuilder::add_int32(const std::string& name, const std::vector<int64_t>& dims,
                                        const std::vector<int32_t>& values) {
  const std::string unique_name = unique(name);
  check_count(unique_name, dims, values.size());
  ::onnx::TensorProto& t = new_initializer(graph_, unique_name, dims, ::onnx::TensorProto::INT32);
  for (int32_t v : values) t.add_int32_data(v);
  return unique_name;
}

std::string OnnxGraphBuilder::add_int64(const std::string& name, const std::vector<int64_t>& dims,
                                        const std::vector<int64_t>& values) {
  const std::string unique_name = unique(name);
  check_count(unique_name, dims, values.size());
  ::onnx::TensorProto& t = new_initializer(graph_, unique_name, dims, ::onnx::TensorProto::INT64);
  for (int64_t v : values) t.add_int64_data(v);
  return unique_name;
}

std::string OnnxGraphBuilder::add_flatten(const std::string& input) {
  const std::string output = unique(input + "_flat");
  add_node("Flatten", input + "_flatten", {input}, {output}, {attr_int("axis", 1)});
  return output;
}

std::string OnnxGraphBuilder::add_reshape_to_image(const std::string& input,
                                                   const std::vector<int64_t>& dims) {
  const std::string output = unique(input + "_image");
  std::vector<int64_t> shape{-1};
  shape.insert(shape.end(), dims.begin(), dims.end());
  const std::string shape_name =
      add_int64(input + "_image_shape", {static_cast<int64_t>(shape.size())}, shape);
  add_node("Reshape", input + "_reshape", {input, shape_name}, {output});
  return output;
}

::onnx::NodeProto& OnnxGraphBuilder::add_node(const std::string& op_type, const std::string& name,
                                              const std::vector<std::string>& inputs,
                                              const std::vector<std::string>& outputs,
                                              const std::vector<OnnxAttribute>& attributes,
                                              const std::string& domain) {
  ::onnx::NodeProto& node = *graph_->add_node();
  node.set_op_type(op_type);
  node.set_name(unique(name));
  if (!domain.empty()) node.set_domain(domain);
  // Trailing optional inputs are dropped; inner ones stay as "" (ONNX's "not given").
  size_t count = inputs.size();
  while (count > 0 && inputs[count - 1].empty()) --count;
  for (size_t i = 0; i < count; ++i) node.add_input(inputs[i]);
  for (const std::string& output : outputs) node.add_output(output);
  set_attributes(node, attributes);
  return node;
}

void OnnxGraphBuilder::add_input(const std::string& name, int32_t elem_type,
                                 const std::vector<int64_t>& dims) {
  ::onnx::ValueInfoProto& info = *graph_->add_input();
  info.set_name(name);
  set_tensor_type(info, elem_type, dims);
}

void OnnxGraphBuilder::add_output(const std::string& name, int32_t elem_type,
                                  const std::vector<int64_t>& dims) {
  ::onnx::ValueInfoProto& info = *graph_->add_output();
  info.set_name(name);
  set_tensor_type(info, elem_type, dims);
}

::onnx::ModelProto make_model_proto(const std::string& graph_name, int64_t ir_version, int opset,
                                    const std::vector<std::string>& extra_domains) {
  ::onnx::ModelProto model;
  model.set_ir_version(ir_version);
  model.set_producer_name("lowbit");
  model.set_producer_version(LOWBIT_VERSION);
  ::onnx::OperatorSetIdProto& standard = *model.add_opset_import();
  standard.set_domain("");
  standard.set_version(opset);
  for (const std::string& domain : extra_domains) {
    ::onnx::OperatorSetIdProto& extra = *model.add_opset_import();
    extra.set_domain(domain);
    extra.set_version(1);
  }
  model.mutable_graph()->set_name(graph_name);
  return model;
}

void add_provenance(::onnx::ModelProto& model, const std::string& model_name,
                    const OnnxOptions& options) {
  const std::pair<const char*, std::string> entries[] = {
      {"lowbit_format", onnx_format_name(options.format)}, {"lowbit_model", model_name},
      {"source_run", options.provenance.source_run},       {"stage", options.provenance.stage},
      {"config_hash", options.provenance.config_hash},     {"date", options.provenance.date},
  };
  for (const auto& [key, value] : entries) {
    if (value.empty()) continue;
    ::onnx::StringStringEntryProto& entry = *model.add_metadata_props();
    entry.set_key(key);
    entry.set_value(value);
  }
}

std::string serialize_model(const ::onnx::ModelProto& model) {
  std::string bytes;
  if (!model.SerializeToString(&bytes)) {
    throw std::runtime_error("onnx: protobuf could not serialize model '" + model.graph().name() +
                             "'");
  }
  return bytes;
}

}  // namespace lowbit::exporter
