// Views of a writer's tensor value in the other ONNX rank, shared by the QDQ and QONNX writers:
// a Flatten or a Reshape of the value's tensor, with no arithmetic, so codes stay exact.
#pragma once

#include "lowbit/export/integer_model.h"
#include "lowbit/export/onnx/onnx_graph.h"

namespace lowbit::exporter {

/// `value` (a writer's value: name, rank 2 or 4, shape) as [N, C*H*W]: itself at rank 2, else a
/// Flatten of it added to `graph`.
template <class Value>
Value as_rank2(OnnxGraphBuilder& graph, const Value& value) {
  if (value.rank == 2) return value;
  Value flat = value;
  flat.rank = 2;
  flat.name = graph.add_flatten(value.name);
  return flat;
}

/// `value` as [N, C, H, W] of `shape`: itself at rank 4, else a Reshape of it added to `graph`.
template <class Value>
Value as_rank4(OnnxGraphBuilder& graph, const Value& value, const Shape& shape) {
  if (value.rank == 4) return value;
  Value image = value;
  image.rank = 4;
  image.shape = shape;
  image.name = graph.add_reshape_to_image(value.name, {shape.channels, shape.height, shape.width});
  return image;
}

}  // namespace lowbit::exporter
