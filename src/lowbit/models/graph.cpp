#include "lowbit/models/graph.h"

#include <torch/nn/modules/container/sequential.h>

namespace lowbit::models {
namespace {

void chain_nodes(torch::nn::Module& parent, const std::string& prefix, ModelGraph& out) {
  for (const auto& child : parent.named_children()) {
    const std::string name = prefix.empty() ? child.key() : prefix + "." + child.key();
    if (dynamic_cast<torch::nn::SequentialImpl*>(child.value().get()) != nullptr) {
      chain_nodes(*child.value(), name, out);
    } else {
      GraphNode node;
      node.name = name;
      node.module = child.value();
      out.push_back(std::move(node));
    }
  }
}

}  // namespace

ModelGraph model_graph(torch::nn::Module& model) {
  if (auto* described = dynamic_cast<GraphModel*>(&model)) return described->graph();
  ModelGraph graph;
  chain_nodes(model, "", graph);
  return graph;
}

}  // namespace lowbit::models
