#include "lowbit/models/model.h"

#include "lowbit/models/mlp.h"

namespace lowbit::models {

const std::vector<ModelType>& model_types() {
  static const std::vector<ModelType> types = {
      {"mlp", "fully connected layers fc1..fcN with activations act1.. and optional norms",
       build_mlp},
  };
  return types;
}

torch::nn::AnyModule build_model(const train::ConfigNode& node, int64_t in_features,
                                 int64_t num_outputs) {
  std::vector<std::string> names;
  for (const auto& t : model_types()) names.push_back(t.name);
  const std::string type = node.require_choice("type", names);
  for (const auto& t : model_types()) {
    if (t.name == type) return t.build(node, in_features, num_outputs);
  }
  node.fail("type", "unknown model type");
}

}  // namespace lowbit::models
