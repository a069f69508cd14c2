// A model's graph as export sees it: named nodes in execution order, where each reads from, and
// what each does (apply a layer, slice features, concatenate, add). The lowering to the integer
// model walks this graph and never names a specific model, so a new model only describes its graph.
#pragma once

#include <torch/nn/module.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace lowbit::models {

/// What a graph node does.
enum class NodeKind {
  kModule,  ///< applies `module` to its one input
  kSlice,   ///< the features [offset, offset + length) of its input, flattened
  kConcat,  ///< its inputs concatenated along channels (features for vectors)
  kAdd,     ///< the element-wise sum of its two inputs, then `module` (a QActivation: its
            ///< function is merged as a clamp, its output quantizer fixes the sum's grid); with no
            ///< module, an exact sum of two inputs on one grid with zero point 0 (spike counts)
  kTimeMean,   ///< the mean over the time steps of its input (spike rates of a spiking layer)
  kCrop,       ///< its first input cropped to the height and width of its second (the first
               ///< rows and columns; decoders crop an upsampled map to its skip's size)
  kLeakyRelu,  ///< leaky ReLU of its input with negative slope `slope`
};

/// The name that stands for the model input in GraphNode::inputs.
inline constexpr const char* kGraphInput = "input";

/// One node of a model graph.
struct GraphNode {
  std::string name;                           ///< Unique name; a module's dotted module path.
  NodeKind kind = NodeKind::kModule;          ///< What the node does.
  std::shared_ptr<torch::nn::Module> module;  ///< kModule: the module; kAdd: the activation.
  std::vector<std::string> inputs;            ///< Producers by name; empty: the node before.
  int64_t offset = 0;                         ///< kSlice: first feature.
  int64_t length = 0;                         ///< kSlice: feature count.
  double slope = 0;                           ///< kLeakyRelu: the negative slope.
  bool host = false;  ///< Left to the host after the integer model (a final sigmoid on the logit).
};

/// A model as nodes in execution order; the last node's output is the model's output.
using ModelGraph = std::vector<GraphNode>;

/// Implemented by models that are not a plain chain of their children.
class GraphModel {
 public:
  virtual ~GraphModel() = default;
  /// The model's nodes in execution order.
  virtual ModelGraph graph() = 0;
};

/// The graph of `model`: its own graph() when it is a GraphModel, else the chain of its children
/// in registration order (Sequential children are walked into), each reading the one before.
ModelGraph model_graph(torch::nn::Module& model);

}  // namespace lowbit::models
