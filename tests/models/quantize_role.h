// Puts one quantizer SPEC on every slot of one role in a model, through the same slot registry
// that stage quantization uses.
#pragma once

#include <torch/nn/module.h>

#include <string>

#include "lowbit/train/quantize/quantize_model.h"

namespace lowbit::models::testing {

/// Sets `spec` on every `role` slot ("weights", "biases", "activations", ...) of `model`; returns
/// how many slots it set.
inline size_t quantize_role(torch::nn::Module& model, const std::string& role,
                            const std::string& spec) {
  auto slots = train::find_quantizer_slots(model, "*", role);
  for (auto& slot : slots) slot.set(spec);
  return slots.size();
}

}  // namespace lowbit::models::testing
