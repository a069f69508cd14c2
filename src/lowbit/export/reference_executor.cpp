#include "lowbit/export/reference_executor.h"

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace lowbit::exporter {

using Values = std::vector<int8_t>;

// The state a sequence model carries from step to step, cleared for every sample: per layer,
// the values its op's OpTraits::reference_state_size asks for.
struct ReferenceExecutor::State {
  std::vector<std::vector<int64_t>> values;
};

ReferenceExecutor::ReferenceExecutor(IntegerModel model)
    : model_(std::move(model)), shapes_(validate(model_)), per_step_(per_step_layers(model_)) {}

void ReferenceExecutor::run_layer(size_t i, const Values& frame, std::vector<Values>& outputs,
                                  State& state) const {
  const Layer& layer = model_.layers[i];
  RunContext context{model_, layer, {}, {}, outputs[i], state.values[i]};
  for (int producer : layer.inputs) {
    context.inputs.push_back(producer == kModelInput ? &frame
                                                     : &outputs[static_cast<size_t>(producer)]);
    context.input_zero_points.push_back(input_zero_point_of(model_, producer));
  }
  visit_op(layer.op, [&](auto traits, const auto& op) { decltype(traits)::run(context, op); });
}

std::vector<int8_t> ReferenceExecutor::run(const std::vector<int8_t>& input,
                                           const Observer& observer) const {
  if (static_cast<int64_t>(input.size()) != input_size()) {
    throw std::invalid_argument("reference executor: expected " + std::to_string(input_size()) +
                                " input values, got " + std::to_string(input.size()));
  }
  const size_t count = model_.layers.size();
  std::vector<Values> outputs(count);
  State state;
  for (size_t i = 0; i < count; ++i) {
    const int64_t size = visit_op(model_.layers[i].op, [&](auto traits, const auto& op) {
      return decltype(traits)::reference_state_size(op, shapes_[i]);
    });
    state.values.emplace_back(static_cast<size_t>(size), 0);
  }
  const auto run_one = [&](size_t i, const Values& frame) {
    run_layer(i, frame, outputs, state);
    if (observer) observer(static_cast<int>(i), outputs[i]);
  };
  if (model_.time_steps == 0) {
    if (observer) observer(kModelInput, input);
    for (size_t i = 0; i < count; ++i) run_one(i, input);
    return outputs.back();
  }
  const int64_t frame_size = model_.input_shape.size();
  for (int64_t t = 0; t < model_.time_steps; ++t) {
    const Values frame(input.begin() + t * frame_size, input.begin() + (t + 1) * frame_size);
    if (observer) observer(kModelInput, frame);
    for (size_t i = 0; i < count; ++i) {
      if (per_step_[i]) run_one(i, frame);
    }
  }
  for (size_t i = 0; i < count; ++i) {
    if (!per_step_[i]) run_one(i, {});
  }
  return outputs.back();
}

std::vector<int8_t> ReferenceExecutor::run_batch(const std::vector<int8_t>& inputs,
                                                 int64_t samples) const {
  if (samples < 0 || static_cast<int64_t>(inputs.size()) != samples * input_size()) {
    throw std::invalid_argument("reference executor: expected " + std::to_string(samples) + " x " +
                                std::to_string(input_size()) + " input values, got " +
                                std::to_string(inputs.size()));
  }
  std::vector<int8_t> result;
  result.reserve(static_cast<size_t>(samples * output_size()));
  for (int64_t s = 0; s < samples; ++s) {
    const std::vector<int8_t> one(inputs.begin() + s * input_size(),
                                  inputs.begin() + (s + 1) * input_size());
    const std::vector<int8_t> out = run(one);
    result.insert(result.end(), out.begin(), out.end());
  }
  return result;
}

}  // namespace lowbit::exporter
