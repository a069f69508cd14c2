#include "lowbit/cli/trained_stage.h"

#include <torch/autograd.h>

#include <algorithm>
#include <filesystem>
#include <stdexcept>

#include "lowbit/cli/stage_list.h"
#include "lowbit/export/lowering/lower_model.h"
#include "lowbit/export/lowering/requant_precision.h"
#include "lowbit/nn/quantized_layer.h"
#include "lowbit/train/checkpoint/checkpoint.h"
#include "lowbit/train/checkpoint/stage_restore.h"
#include "lowbit/train/data_source.h"
#include "lowbit/util/atomic_file.h"

namespace lowbit::cli {
namespace {

namespace fs = std::filesystem;

// The integer model's input scale comes from the first layer's input quantizer; without one the
// conversion cannot say how raw inputs become int8, so say which config line fixes it.
void check_first_layer_input(torch::nn::Module& model, const std::string& stage) {
  const auto children = model.named_children();
  if (children.is_empty()) return;
  const std::string& name = children.begin()->key();
  const auto& layer = children.begin()->value();
  const auto* quantized = layer->as<nn::QuantizedLayer>();
  if (quantized != nullptr && quantized->weight_tensor().defined() && !quantized->input_quant()) {
    throw std::runtime_error(
        "export: layer '" + name + "' (the first layer) of stage '" + stage +
        "' has no input quantizer, so the integer model has no input scale; add " +
        "`layers: [{match: " + name + ", inputs: \"uniform:bits=8\"}]` to the stage's " +
        "quantization and train it (docs/export.md, \"Commands\")");
  }
}

}  // namespace

std::string config_hash(const std::string& text) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  static const char* kDigits = "0123456789abcdef";
  std::string hex(16, '0');
  for (int i = 15; i >= 0; --i, h >>= 4) hex[static_cast<size_t>(i)] = kDigits[h & 15];
  return hex;
}

TrainedStage load_trained_stage(const std::string& path, const std::string& stage,
                                const train::StageData* data) {
  TrainedStage t;
  if (!fs::exists(path)) throw std::runtime_error("'" + path + "' does not exist");
  train::Checkpoint checkpoint;
  if (fs::is_regular_file(path)) {
    checkpoint = train::load_checkpoint(path);
    if (!stage.empty() && stage != checkpoint.stage) {
      throw std::runtime_error("checkpoint '" + path + "' is of stage '" + checkpoint.stage +
                               "', not '" + stage + "'");
    }
    t.checkpoint = path;
    t.stage = checkpoint.stage;
    t.run_dir = fs::path(path).parent_path().parent_path().string();
    if (t.run_dir.empty()) t.run_dir = ".";
  } else {
    if (stage.empty()) throw std::runtime_error("'" + path + "' is a run directory: name --stage");
    t.run_dir = path;
    t.stage = stage;
  }
  const std::string config_file = (fs::path(t.run_dir) / "config.yaml").string();
  if (!fs::exists(config_file)) {
    throw std::runtime_error("'" + config_file + "' does not exist: '" + t.run_dir +
                             "' is not a run directory written by `lowbit train`");
  }
  t.config_text = util::read_file(config_file);
  t.config_hash = config_hash(t.config_text);
  t.config = train::parse_run_config(lowbit::config::ConfigNode::parse(t.config_text, config_file));
  t.config.file = config_file;
  const train::StageConfig& stage_config = t.config.stage(t.stage);  // throws naming the stages
  if (t.checkpoint.empty()) {
    t.checkpoint = (fs::path(train::stage_dir(t.run_dir, t.stage)) / "best.pt").string();
    if (!fs::exists(t.checkpoint)) {
      throw std::runtime_error("stage '" + t.stage + "' has no checkpoint '" + t.checkpoint +
                               "': train that stage first");
    }
    checkpoint = train::load_checkpoint(t.checkpoint);
  }

  t.data = data != nullptr ? *data : train::load_data(*t.config.data, t.config.seed);
  t.input_shape =
      exporter::sample_shape_of(t.data.train.inputs.sizes(), "data '" + t.data.train.name + "'");
  t.model = train::restore_stage_model(
      t.config.model_of(stage_config), train::input_features(t.data.train),
      train::model_outputs(t.data.train), train::stage_quantizers(stage_config), checkpoint,
      t.checkpoint, t.config.seed);
  return t;
}

std::vector<int8_t> quantized_inputs(const data::Dataset& set, const exporter::IntegerModel& model,
                                     int64_t samples) {
  const int64_t n = std::min(samples, set.size());
  const torch::Tensor flat =
      set.inputs.slice(0, 0, n).reshape({n, -1}).to(torch::kDouble).contiguous();
  const double* x = flat.data_ptr<double>();
  std::vector<int8_t> codes(static_cast<size_t>(flat.numel()));
  for (size_t i = 0; i < codes.size(); ++i) {
    codes[i] = exporter::quantize_input(x[i], model.input_scale, model.input_zero_point);
  }
  return codes;
}

exporter::SequenceActivity sequence_activity(const TrainedStage& trained,
                                             const exporter::IntegerModel& model, int64_t samples) {
  const data::Dataset& set = evaluation_set(trained.data);
  const int64_t n = std::min(samples, set.size());
  return exporter::measure_activity(model, quantized_inputs(set, model, n), n);
}

exporter::IntegerModel convert_trained_stage(TrainedStage& trained, const std::string& name) {
  check_first_layer_input(*trained.model.ptr(), trained.stage);
  return exporter::lower_model(*trained.model.ptr(), trained.input_shape, name);
}

exporter::IntegerModel convert_for_target(TrainedStage& trained, const std::string& name,
                                          const exporter::Target& target) {
  exporter::IntegerModel model = convert_trained_stage(trained, name);
  if (target.requant_32bit) exporter::limit_requant_precision(model);
  return model;
}

}  // namespace lowbit::cli
