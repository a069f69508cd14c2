#include "lowbit/export/onnx/onnx_check.h"

#include <cstring>
#include <stdexcept>

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

namespace lowbit::exporter {

namespace {

::onnx::ModelProto parse(const std::string& bytes, const std::string& what) {
  ::onnx::ModelProto model;
  if (!model.ParseFromString(bytes)) {
    throw std::invalid_argument(what + ": not an ONNX model (protobuf parse failed)");
  }
  return model;
}

int64_t standard_opset(const ::onnx::ModelProto& model) {
  for (const auto& opset : model.opset_import()) {
    if (opset.domain().empty() || opset.domain() == "ai.onnx") return opset.version();
  }
  return 0;
}

template <class T>
void append_raw(const std::string& raw, std::vector<double>& values) {
  for (size_t i = 0; i + sizeof(T) <= raw.size(); i += sizeof(T)) {
    T v;
    std::memcpy(&v, raw.data() + i, sizeof(T));
    values.push_back(static_cast<double>(v));
  }
}

OnnxInitializerSummary summarize_tensor(const ::onnx::TensorProto& t) {
  OnnxInitializerSummary s;
  s.dims.assign(t.dims().begin(), t.dims().end());
  s.data_type = t.data_type();
  for (float v : t.float_data()) s.values.push_back(v);
  for (int32_t v : t.int32_data()) s.values.push_back(v);
  for (int64_t v : t.int64_data()) s.values.push_back(static_cast<double>(v));
  const std::string& raw = t.raw_data();
  switch (t.data_type()) {
    case ::onnx::TensorProto::FLOAT:
      append_raw<float>(raw, s.values);
      break;
    case ::onnx::TensorProto::UINT8:
      append_raw<uint8_t>(raw, s.values);
      break;
    case ::onnx::TensorProto::INT8:
      append_raw<int8_t>(raw, s.values);
      break;
    case ::onnx::TensorProto::INT32:
      append_raw<int32_t>(raw, s.values);
      break;
    case ::onnx::TensorProto::INT64:
      append_raw<int64_t>(raw, s.values);
      break;
    case 22: {  // INT4: two per byte, low nibble first
      int64_t count = 1;
      for (int64_t d : s.dims) count *= d;
      for (int64_t i = 0; i < count && static_cast<size_t>(i / 2) < raw.size(); ++i) {
        const int nibble =
            (static_cast<unsigned char>(raw[static_cast<size_t>(i / 2)]) >> (i % 2 == 0 ? 0 : 4)) &
            0x0F;
        s.values.push_back(nibble >= 8 ? nibble - 16 : nibble);
      }
      break;
    }
    default:
      break;
  }
  return s;
}

}  // namespace

bool check_onnx_model(const std::string& bytes, const std::string& what) {
  const ::onnx::ModelProto model = parse(bytes, what);
  if (standard_opset(model) > kOnnxCheckerMaxOpset || model.ir_version() > ::onnx::IR_VERSION) {
    return false;
  }
  try {
    ::onnx::checker::check_model(model);
  } catch (const std::exception& error) {
    throw std::invalid_argument(what + ": ONNX checker: " + error.what());
  }
  return true;
}

std::vector<const OnnxNodeSummary*> OnnxSummary::nodes_of(const std::string& op_type) const {
  std::vector<const OnnxNodeSummary*> found;
  for (const OnnxNodeSummary& node : nodes) {
    if (node.op_type == op_type) found.push_back(&node);
  }
  return found;
}

const OnnxNodeSummary* OnnxSummary::producer_of(const std::string& tensor) const {
  for (const OnnxNodeSummary& node : nodes) {
    for (const std::string& output : node.outputs) {
      if (output == tensor) return &node;
    }
  }
  return nullptr;
}

OnnxSummary summarize_onnx_model(const std::string& bytes, const std::string& what) {
  const ::onnx::ModelProto model = parse(bytes, what);
  OnnxSummary s;
  s.ir_version = model.ir_version();
  for (const auto& opset : model.opset_import()) s.opsets[opset.domain()] = opset.version();
  for (const auto& input : model.graph().input()) s.inputs.push_back(input.name());
  for (const auto& output : model.graph().output()) s.outputs.push_back(output.name());
  for (const auto& node : model.graph().node()) {
    OnnxNodeSummary n;
    n.name = node.name();
    n.op_type = node.op_type();
    n.domain = node.domain();
    n.inputs.assign(node.input().begin(), node.input().end());
    n.outputs.assign(node.output().begin(), node.output().end());
    for (const auto& a : node.attribute()) {
      switch (a.type()) {
        case ::onnx::AttributeProto_AttributeType_INT:
          n.ints[a.name()] = a.i();
          break;
        case ::onnx::AttributeProto_AttributeType_FLOAT:
          n.floats[a.name()] = a.f();
          break;
        case ::onnx::AttributeProto_AttributeType_STRING:
          n.strings[a.name()] = a.s();
          break;
        case ::onnx::AttributeProto_AttributeType_INTS:
          n.int_lists[a.name()].assign(a.ints().begin(), a.ints().end());
          break;
        default:
          break;
      }
    }
    s.nodes.push_back(std::move(n));
  }
  for (const auto& t : model.graph().initializer()) s.initializers[t.name()] = summarize_tensor(t);
  for (const auto& f : model.functions()) s.functions.push_back(f.domain() + ":" + f.name());
  for (const auto& m : model.metadata_props()) s.metadata[m.key()] = m.value();
  return s;
}

}  // namespace lowbit::exporter
