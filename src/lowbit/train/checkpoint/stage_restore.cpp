#include "lowbit/train/checkpoint/stage_restore.h"

#include <torch/utils.h>

#include <algorithm>

#include "lowbit/models/model.h"
#include "lowbit/train/quantize/quantize_model.h"

namespace lowbit::train {

StageQuantizers stage_quantizers(const StageConfig& stage) {
  return {stage.quantization, stage.events};
}

StageQuantizers saved_stage_quantizers(const Checkpoint& checkpoint, const std::string& what) {
  const config::ConfigNode saved =
      config::ConfigNode::parse(checkpoint.stage_config, what + " (stage section)");
  StageQuantizers quantizers;
  if (auto q = saved.optional_child("quantization")) {
    quantizers.quantization = parse_quantization(*q);
  }
  const int64_t epochs = saved.require_positive<int64_t>("epochs");
  for (const config::ConfigNode& e : saved.list("events")) {
    quantizers.events.push_back(parse_event(e, epochs));
  }
  std::stable_sort(quantizers.events.begin(), quantizers.events.end(),
                   [](const EpochEvent& a, const EpochEvent& b) { return a.at < b.at; });
  return quantizers;
}

void restore_model_state(torch::nn::Module& model, const std::vector<EpochEvent>& events,
                         int64_t epoch, const NamedTensors& state, const std::string& what) {
  for (const EpochEvent& event : events) {
    if (event.at <= epoch && event.action != EventAction::kSetLr) {
      apply_quantizer_event(model, event);
    }
  }
  load_model_state(model, state, what);
}

torch::nn::AnyModule restore_stage_model(const config::ConfigNode& model_config,
                                         int64_t in_features, int64_t outputs,
                                         const StageQuantizers& quantizers,
                                         const Checkpoint& checkpoint, const std::string& what,
                                         uint64_t seed) {
  torch::manual_seed(seed);
  torch::nn::AnyModule model = models::build_model(model_config, in_features, outputs);
  quantize_model(*model.ptr(), quantizers.quantization);
  restore_model_state(*model.ptr(), quantizers.events, checkpoint.epoch, checkpoint.model, what);
  model.ptr()->eval();
  return model;
}

}  // namespace lowbit::train
