#include "lowbit/export/activity.h"

#include <stdexcept>

#include "lowbit/export/model_cost.h"
#include "lowbit/export/reference_executor.h"

namespace lowbit::exporter {

SequenceActivity measure_activity(const IntegerModel& model, const std::vector<int8_t>& inputs,
                                  int64_t samples) {
  if (model.time_steps < 1) {
    throw std::invalid_argument("activity: model '" + model.name + "' is not a sequence model");
  }
  const ReferenceExecutor reference(model);
  if (samples < 1 || static_cast<int64_t>(inputs.size()) != samples * reference.input_size()) {
    throw std::invalid_argument("activity: expected " + std::to_string(samples) + " x " +
                                std::to_string(reference.input_size()) + " input values, got " +
                                std::to_string(inputs.size()));
  }
  const ModelCost cost = model_cost(model);
  const std::vector<bool> per_step = per_step_layers(model);
  const size_t count = model.layers.size();
  // Non-zero share of what each producer (input: slot 0, layer i: slot i + 1) output, summed over
  // the steps it ran, and the spikes of each LIF layer.
  std::vector<double> nonzero(count + 1, 0.0);
  std::vector<double> ones(count, 0.0);
  const ReferenceExecutor::Observer observe = [&](int layer, const std::vector<int8_t>& values) {
    const int32_t zp = input_zero_point_of(model, layer);
    int64_t active = 0;
    for (int8_t v : values) active += v != zp ? 1 : 0;
    const double share = values.empty() ? 0.0 : static_cast<double>(active) / values.size();
    nonzero[static_cast<size_t>(layer + 1)] += share;
    if (layer != kModelInput && std::holds_alternative<Lif>(model.layers[layer].op)) {
      ones[static_cast<size_t>(layer)] += share;
    }
  };
  for (int64_t s = 0; s < samples; ++s) {
    const std::vector<int8_t> one(inputs.begin() + s * reference.input_size(),
                                  inputs.begin() + (s + 1) * reference.input_size());
    reference.run(one, observe);
  }
  const double steps = static_cast<double>(samples * model.time_steps);
  SequenceActivity activity;
  activity.samples = samples;
  activity.macs_per_step = cost.macs_per_step;
  for (size_t i = 0; i < count; ++i) {
    const Layer& layer = model.layers[i];
    if (std::holds_alternative<Lif>(layer.op))
      activity.spike_rates.push_back({layer.name, ones[i] / steps});
    const bool weighted = op_weights(layer.op).has_value();
    if (!per_step[i] || !weighted) continue;
    const double share = nonzero[static_cast<size_t>(layer.inputs[0] + 1)] / steps;
    activity.weighted_macs_per_step += cost.layers[i].macs;
    activity.synaptic_ops_per_step += static_cast<double>(cost.layers[i].macs) * share;
  }
  return activity;
}

}  // namespace lowbit::exporter
