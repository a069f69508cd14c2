#include "lowbit/train/run_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <system_error>

#include "lowbit/quant/registry.h"

namespace lowbit::train {
namespace {

// Reads a SPEC key: absent -> nullopt, "none" -> "" (no quantizer), else a SPEC the quantizer
// registry accepts for `role`.
std::optional<std::string> read_spec(const config::ConfigNode& node, const std::string& key,
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

// Reads a text that names a file or a layer glob: no NUL (the OS would cut the path there), at
// most kMaxConfigPathLength characters.
std::string read_path_text(const config::ConfigNode& node, const std::string& key,
                           const std::string& default_value) {
  std::string text = node.get<std::string>(key, default_value);
  if (text.find('\0') != std::string::npos)
    node.fail(key, "expected a path without a NUL character");
  if (text.size() > kMaxConfigPathLength) {
    node.fail(key, "expected at most " + std::to_string(kMaxConfigPathLength) +
                       " characters, got " + std::to_string(text.size()));
  }
  return text;
}

bool file_exists(const std::string& path) {
  // The error_code form: a name too long for the OS is "absent", not a filesystem_error.
  std::error_code error;
  return std::filesystem::exists(path, error);
}

std::string yaml_text(const YAML::Node& node) {
  YAML::Emitter emitter;
  emitter << node;
  return std::string(emitter.c_str()) + "\n";
}

}  // namespace

bool is_safe_stage_name(const std::string& name) {
  if (name.empty() || name.size() > kMaxStageNameLength) return false;
  if (name[0] == '.' || name[0] == '-' || name[0] == '+') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.' || c == '+';
  });
}

const std::vector<std::string>& event_action_names() {
  static const std::vector<std::string> names = {"set_bits", "switch_quantizer", "freeze",
                                                 "unfreeze", "set_lr",           "fold_batchnorm"};
  return names;
}

const std::vector<std::string>& event_role_names() {
  static const std::vector<std::string> names = {"weights",     "biases", "inputs", "outputs",
                                                 "activations", "state",  "all"};
  return names;
}

bool trains_full_precision(const StageConfig& stage) {
  const QuantizationConfig& q = stage.quantization;
  const bool specs = !q.weights.empty() || !q.biases.empty() || !q.inputs.empty() ||
                     !q.outputs.empty() || !q.activations.empty() || q.state != 0 ||
                     !q.layers.empty();
  const bool switches = std::any_of(
      stage.events.begin(), stage.events.end(),
      [](const EpochEvent& event) { return event.action == EventAction::kSwitchQuantizer; });
  return !specs && !switches;
}

const StageConfig& RunConfig::stage(const std::string& name) const {
  std::string names;
  for (const auto& s : stages) {
    if (s.name == name) return s;
    names += (names.empty() ? "" : ", ") + s.name;
  }
  throw config::ConfigError(file + ": no stage named '" + name + "'; stages: " + names);
}

const config::ConfigNode& RunConfig::model_of(const StageConfig& stage) const {
  if (stage.model) return *stage.model;
  if (!model) throw config::ConfigError(file + ": no model section");
  return *model;
}

std::string RunConfig::model_text(const StageConfig& stage) const {
  return yaml_text(model_of(stage).yaml());
}

QuantizationConfig parse_quantization(const config::ConfigNode& node) {
  QuantizationConfig config;
  config.weights = read_spec(node, "weights", quant::Role::kWeight).value_or("");
  config.biases = read_spec(node, "biases", quant::Role::kBias).value_or("");
  config.inputs = read_spec(node, "inputs", quant::Role::kActivation).value_or("");
  config.outputs = read_spec(node, "outputs", quant::Role::kActivation).value_or("");
  config.activations = read_spec(node, "activations", quant::Role::kActivation).value_or("");
  config.state = node.get_in_range<int>("state", 0, 0, 16);
  for (const config::ConfigNode& entry : node.list("layers")) {
    LayerQuantOverride o;
    if (!entry.has("match")) entry.fail("match", "missing required key");
    o.pattern = read_path_text(entry, "match", "");
    o.weights = read_spec(entry, "weights", quant::Role::kWeight);
    o.biases = read_spec(entry, "biases", quant::Role::kBias);
    o.inputs = read_spec(entry, "inputs", quant::Role::kActivation);
    o.outputs = read_spec(entry, "outputs", quant::Role::kActivation);
    o.activations = read_spec(entry, "activations", quant::Role::kActivation);
    if (entry.has("state")) o.state = entry.get_in_range<int>("state", 0, 0, 16);
    entry.done();
    config.layers.push_back(std::move(o));
  }
  node.done();
  return config;
}

EpochEvent parse_event(const config::ConfigNode& node, int64_t epochs) {
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
    event.layers = read_path_text(node, "layers", "*");
  } else {
    event.layers = read_path_text(node, "layers", "*");
    event.role = node.choice("role", "all", event_role_names());
    if (event.role == "state" && event.action != EventAction::kSetBits) {
      node.fail("role",
                "the membrane (role state) has no quantizer module: only set_bits changes it");
    }
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

StageConfig parse_stage(const config::ConfigNode& node, const std::vector<std::string>& earlier) {
  StageConfig stage;
  stage.yaml = yaml_text(node.yaml());
  stage.name = node.require<std::string>("name");
  // The name is a folder of the run directory: `..` or a '/' would put checkpoints elsewhere.
  if (!is_safe_stage_name(stage.name)) {
    node.fail("name", "expected 1 to " + std::to_string(kMaxStageNameLength) +
                          " letters, digits, '_', '-', '.' or '+', not starting with '.', '-' or "
                          "'+' (it names the stage's folder in the run directory)");
  }
  if (std::find(earlier.begin(), earlier.end(), stage.name) != earlier.end()) {
    node.fail("name", "stage name '" + stage.name + "' is used twice");
  }
  stage.from = read_path_text(node, "from", "");
  stage.from_stage = std::find(earlier.begin(), earlier.end(), stage.from) != earlier.end();
  if (!stage.from.empty() && !stage.from_stage) {
    if (stage.from == stage.name) node.fail("from", "a stage cannot warm-start from itself");
    if (!file_exists(stage.from)) {
      std::string names;
      for (const auto& n : earlier) names += (names.empty() ? "" : ", ") + n;
      node.fail("from", "expected an earlier stage (" + (names.empty() ? "none" : names) +
                            ") or an existing checkpoint file, got '" + stage.from + "'");
    }
  }
  stage.strict = node.get<bool>("strict", false);
  stage.model = node.optional_child("model");  // checked by the model builder
  if (auto q = node.optional_child("quantization")) stage.quantization = parse_quantization(*q);
  stage.epochs = node.require_in_range<int64_t>("epochs", 1, kMaxEpochs);
  stage.batch_size = node.get_in_range<int64_t>("batch_size", 64, 1, kMaxBatchSize);
  stage.optimizer = parse_optimizer(node.child("optimizer"));
  if (auto s = node.optional_child("lr_schedule")) stage.lr_schedule = parse_lr_schedule(*s);
  if (auto c = node.optional_child("clipping")) stage.clipping = parse_clipping(*c);
  if (auto l = node.optional_child("loss")) stage.loss = parse_loss(*l);
  if (auto b = node.optional_child("best")) {
    BestMetricTracker tracker = BestMetricTracker::from_config(*b);
    stage.best_metric = tracker.metric();
    stage.best_mode = tracker.mode();
    stage.best_min_delta = b->get<double>("min_delta", 0.0);
  } else if (is_flow_loss(stage.loss.type)) {
    // A flow model has no accuracy: without `best:` it keeps its lowest average endpoint error.
    stage.best_metric = "val_aee";
    stage.best_mode = MetricMode::kMin;
  }
  for (const config::ConfigNode& r : node.list("regularizers")) {
    stage.regularizers.push_back(make_regularizer(r));
  }
  if (auto m = node.optional_child("methods")) {
    stage.methods = parse_methods(*m, stage.epochs, earlier);
    if (stage.methods.distill &&
        (stage.loss.type == LossType::kMse || is_flow_loss(stage.loss.type))) {
      m->fail("distill",
              "distillation needs a classification loss (cross_entropy or a binary one)");
    }
  }
  for (const config::ConfigNode& e : node.list("events")) {
    stage.events.push_back(parse_event(e, stage.epochs));
  }
  std::stable_sort(stage.events.begin(), stage.events.end(),
                   [](const EpochEvent& a, const EpochEvent& b) { return a.at < b.at; });
  node.done();
  return stage;
}

RunConfig parse_run_config(const config::ConfigNode& root) {
  RunConfig run;
  run.seed = static_cast<uint64_t>(root.get_in_range<int64_t>("seed", 1, 0, INT64_MAX));
  run.threads = root.get_in_range<int>("threads", 1, 1, 1024);
  run.device = root.choice("device", "cpu", {"cpu", "cuda", "auto"});
  run.output = read_path_text(root, "output", "");
  run.data = root.child("data");
  run.model = root.child("model");
  std::vector<std::string> names;
  const std::vector<config::ConfigNode> stages = root.list("stages");
  if (stages.size() > kMaxStages) {
    root.fail("stages", "expected at most " + std::to_string(kMaxStages) + " stages, got " +
                            std::to_string(stages.size()));
  }
  for (const config::ConfigNode& s : stages) {
    run.stages.push_back(parse_stage(s, names));
    names.push_back(run.stages.back().name);
  }
  if (run.stages.empty()) root.fail("stages", "expected a non-empty list of stages");
  // A warm start copies tensors by name: from another architecture it would copy some and leave
  // the rest at their initialisation.
  for (size_t i = 0; i < run.stages.size(); ++i) {
    const StageConfig& stage = run.stages[i];
    if (!stage.from_stage) continue;
    const StageConfig& source = run.stage(stage.from);
    if (run.model_text(stage) != run.model_text(source)) {
      stages[i].fail("from", "stage '" + stage.from +
                                 "' trains another model (its own `model:` section): a stage "
                                 "warm-starts only from one of the same model");
    }
  }
  root.done();
  return run;
}

RunConfig load_run_config(const std::string& file, const std::vector<std::string>& overrides) {
  const config::ConfigNode root = config::ConfigNode::load_file(file, overrides);
  RunConfig run = parse_run_config(root);
  run.file = file;
  run.text = YAML::Dump(root.yaml()) + "\n";
  if (run.output.empty()) {
    run.output = (std::filesystem::path("runs") / std::filesystem::path(file).stem()).string();
  }
  return run;
}

}  // namespace lowbit::train
