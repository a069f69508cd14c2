#include "lowbit/train/run_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "lowbit/quant/registry.h"

namespace lowbit::train {
namespace {

// Reads a SPEC key: absent -> nullopt, "none" -> "" (no quantizer), else a SPEC the quantizer
// registry accepts for `role`.
std::optional<std::string> read_spec(const ConfigNode& node, const std::string& key,
                                     quant::Role role) {
  auto text = node.optional<std::string>(key);
  if (!text) return std::nullopt;
  if (*text == "none" || text->empty()) return std::string();
  try {
    quant::make_quantizer(std::string_view(*text), role);
  } catch (const std::exception& e) {
    node.fail(key, std::string("expected a quantizer SPEC: ") + e.what());
  }
  return *text;
}

std::string yaml_text(const YAML::Node& node) {
  YAML::Emitter emitter;
  emitter << node;
  return std::string(emitter.c_str()) + "\n";
}

}  // namespace

const std::vector<std::string>& event_action_names() {
  static const std::vector<std::string> names = {"set_bits", "switch_quantizer", "freeze",
                                                 "unfreeze", "set_lr",           "fold_batchnorm"};
  return names;
}

const std::vector<std::string>& event_role_names() {
  static const std::vector<std::string> names = {"weights", "biases",      "inputs",
                                                 "outputs", "activations", "all"};
  return names;
}

const StageConfig& RunConfig::stage(const std::string& name) const {
  std::string names;
  for (const auto& s : stages) {
    if (s.name == name) return s;
    names += (names.empty() ? "" : ", ") + s.name;
  }
  throw ConfigError(file + ": no stage named '" + name + "'; stages: " + names);
}

QuantizationConfig parse_quantization(const ConfigNode& node) {
  QuantizationConfig config;
  config.weights = read_spec(node, "weights", quant::Role::kWeight).value_or("");
  config.biases = read_spec(node, "biases", quant::Role::kBias).value_or("");
  config.inputs = read_spec(node, "inputs", quant::Role::kActivation).value_or("");
  config.outputs = read_spec(node, "outputs", quant::Role::kActivation).value_or("");
  config.activations = read_spec(node, "activations", quant::Role::kActivation).value_or("");
  for (const ConfigNode& entry : node.list("layers")) {
    LayerQuantOverride o;
    o.pattern = entry.require<std::string>("match");
    o.weights = read_spec(entry, "weights", quant::Role::kWeight);
    o.biases = read_spec(entry, "biases", quant::Role::kBias);
    o.inputs = read_spec(entry, "inputs", quant::Role::kActivation);
    o.outputs = read_spec(entry, "outputs", quant::Role::kActivation);
    o.activations = read_spec(entry, "activations", quant::Role::kActivation);
    entry.done();
    config.layers.push_back(std::move(o));
  }
  node.done();
  return config;
}

EpochEvent parse_event(const ConfigNode& node, int64_t epochs) {
  EpochEvent event;
  event.at = node.require<int64_t>("at");
  if (event.at < 0 || event.at >= epochs) {
    node.fail("at", "expected an epoch in [0, " + std::to_string(epochs - 1) + "] (the stage has " +
                        std::to_string(epochs) + " epochs), got " + std::to_string(event.at));
  }
  const std::string action = node.require_choice("action", event_action_names());
  event.action = static_cast<EventAction>(
      std::find(event_action_names().begin(), event_action_names().end(), action) -
      event_action_names().begin());
  if (event.action == EventAction::kSetLr) {
    event.lr = node.require_positive<double>("lr");
  } else if (event.action == EventAction::kFoldBatchNorm) {
    event.layers = node.get<std::string>("layers", "*");
  } else {
    event.layers = node.get<std::string>("layers", "*");
    event.role = node.choice("role", "all", event_role_names());
    if (event.action == EventAction::kSetBits) {
      event.bits = node.get_in_range<int>("bits", 0, 1, 32);
      if (!node.has("bits")) node.fail("bits", "set_bits needs `bits` (1..32)");
    } else if (event.action == EventAction::kSwitchQuantizer) {
      event.spec = node.require<std::string>("spec");
      if (event.spec == "none") event.spec.clear();
      if (!event.spec.empty()) {
        const quant::Role role = event.role == "weights"  ? quant::Role::kWeight
                                 : event.role == "biases" ? quant::Role::kBias
                                 : event.role == "all"    ? quant::Role::kWeight
                                                          : quant::Role::kActivation;
        try {
          quant::make_quantizer(std::string_view(event.spec), role);
        } catch (const std::exception& e) {
          node.fail("spec", std::string("expected a quantizer SPEC: ") + e.what());
        }
      }
    }
  }
  node.done();
  return event;
}

StageConfig parse_stage(const ConfigNode& node, const std::vector<std::string>& earlier) {
  StageConfig stage;
  stage.yaml = yaml_text(node.yaml());
  stage.name = node.require<std::string>("name");
  if (stage.name.empty() || stage.name.find_first_of("/\\ ") != std::string::npos) {
    node.fail("name", "expected a non-empty name without '/', '\\' or spaces");
  }
  if (std::find(earlier.begin(), earlier.end(), stage.name) != earlier.end()) {
    node.fail("name", "stage name '" + stage.name + "' is used twice");
  }
  stage.from = node.get<std::string>("from", "");
  stage.from_stage = std::find(earlier.begin(), earlier.end(), stage.from) != earlier.end();
  if (!stage.from.empty() && !stage.from_stage) {
    if (stage.from == stage.name) node.fail("from", "a stage cannot warm-start from itself");
    if (!std::filesystem::exists(stage.from)) {
      std::string names;
      for (const auto& n : earlier) names += (names.empty() ? "" : ", ") + n;
      node.fail("from", "expected an earlier stage (" + (names.empty() ? "none" : names) +
                            ") or an existing checkpoint file, got '" + stage.from + "'");
    }
  }
  stage.strict = node.get<bool>("strict", false);
  if (auto q = node.optional_child("quantization")) stage.quantization = parse_quantization(*q);
  stage.epochs = node.require_positive<int64_t>("epochs");
  stage.batch_size = node.get_positive<int64_t>("batch_size", 64);
  stage.optimizer = parse_optimizer(node.child("optimizer"));
  if (auto s = node.optional_child("lr_schedule")) stage.lr_schedule = parse_lr_schedule(*s);
  if (auto c = node.optional_child("clipping")) stage.clipping = parse_clipping(*c);
  if (auto l = node.optional_child("loss")) stage.loss = parse_loss(*l);
  if (auto b = node.optional_child("best")) {
    BestMetricTracker tracker = BestMetricTracker::from_config(*b);
    stage.best_metric = tracker.metric();
    stage.best_mode = tracker.mode();
    stage.best_min_delta = b->get<double>("min_delta", 0.0);
  }
  for (const ConfigNode& r : node.list("regularizers")) {
    stage.regularizers.push_back(make_regularizer(r));
  }
  if (auto m = node.optional_child("methods")) {
    stage.methods = parse_methods(*m, stage.epochs, earlier);
    if (stage.methods.distill && stage.loss.type == LossType::kMse) {
      m->fail("distill",
              "distillation needs a classification loss (cross_entropy or a binary one)");
    }
  }
  for (const ConfigNode& e : node.list("events")) {
    stage.events.push_back(parse_event(e, stage.epochs));
  }
  std::stable_sort(stage.events.begin(), stage.events.end(),
                   [](const EpochEvent& a, const EpochEvent& b) { return a.at < b.at; });
  node.done();
  return stage;
}

RunConfig parse_run_config(const ConfigNode& root) {
  RunConfig run;
  run.seed = static_cast<uint64_t>(root.get_in_range<int64_t>("seed", 1, 0, INT64_MAX));
  run.threads = root.get_in_range<int>("threads", 1, 1, 1024);
  run.output = root.get<std::string>("output", "");
  run.data = root.child("data");
  run.model = root.child("model");
  std::vector<std::string> names;
  for (const ConfigNode& s : root.list("stages")) {
    run.stages.push_back(parse_stage(s, names));
    names.push_back(run.stages.back().name);
  }
  if (run.stages.empty()) root.fail("stages", "expected a non-empty list of stages");
  root.done();
  return run;
}

RunConfig load_run_config(const std::string& file, const std::vector<std::string>& overrides) {
  const ConfigNode root = ConfigNode::load_file(file, overrides);
  RunConfig run = parse_run_config(root);
  run.file = file;
  run.text = YAML::Dump(root.yaml()) + "\n";
  if (run.output.empty()) {
    run.output = (std::filesystem::path("runs") / std::filesystem::path(file).stem()).string();
  }
  return run;
}

}  // namespace lowbit::train
