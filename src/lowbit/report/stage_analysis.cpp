#include "lowbit/report/stage_analysis.h"

#include <torch/autograd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <stdexcept>

#include "lowbit/export/lowering/lower_model.h"
#include "lowbit/train/checkpoint/checkpoint.h"
#include "lowbit/train/checkpoint/stage_restore.h"
#include "lowbit/train/data_source.h"
#include "lowbit/train/quantize/layer_weights.h"
#include "lowbit/train/report/evaluation.h"
#include "lowbit/train/report/flow_color.h"
#include "lowbit/train/report/metrics.h"

namespace lowbit::report {
namespace {

namespace fs = std::filesystem;

std::vector<double> to_doubles(const torch::Tensor& t) {
  const torch::Tensor c = t.detach().to(torch::kFloat64).contiguous().reshape({-1});
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

// The grid drawn on the histogram and the share of weights per code. A per-channel grid has one
// row of levels per channel; the widest one is drawn (it spans every other channel's clipping).
void add_grid(LayerWeightData& d, const torch::Tensor& weight, quant::QuantizerImpl& quantizer) {
  torch::Tensor levels = quantizer.levels(weight).detach().to(torch::kFloat64);
  if (levels.dim() == 2) {
    d.channels = levels.size(0);
    d.channel = levels.abs().amax(1).argmax().item<int64_t>();
    levels = levels[d.channel];
  }
  d.levels = to_doubles(levels);
  if (!d.levels.empty()) {
    d.clip_low = *std::min_element(d.levels.begin(), d.levels.end());
    d.clip_high = *std::max_element(d.levels.begin(), d.levels.end());
  }
  const quant::IntegerForm form = quantizer.integer_form(weight);
  const torch::Tensor codes = form.codes.to(torch::kInt64).contiguous().reshape({-1});
  std::map<int64_t, int64_t> counts;
  const int64_t span = form.code_max - form.code_min + 1;
  // A contiguous grid lists every code, used or not; a grid with gaps (half-integer codes) only
  // the codes that occur.
  if (span == static_cast<int64_t>(d.levels.size()) && span <= 4096) {
    for (int64_t c = form.code_min; c <= form.code_max; ++c) counts[c] = 0;
  }
  const int64_t* p = codes.data_ptr<int64_t>();
  for (int64_t i = 0; i < codes.numel(); ++i) ++counts[p[i]];
  double entropy = 0.0;
  for (const auto& [code, count] : counts) {
    d.codes.push_back(code);
    d.code_counts.push_back(count);
    if (count > 0) {
      const double share = static_cast<double>(count) / static_cast<double>(codes.numel());
      entropy -= share * std::log2(share);
    }
  }
  d.entropy = entropy;
}

}  // namespace

std::vector<LayerWeightData> layer_weight_data(torch::nn::Module& model) {
  model.eval();
  torch::NoGradGuard no_grad;
  std::vector<LayerWeightData> layers;
  for (const train::LayerWeight& w : train::layer_weights(model, false)) {
    LayerWeightData d;
    d.layer = w.name;
    const torch::Tensor values = w.weight.detach().to(torch::kFloat32).contiguous().reshape({-1});
    d.values.assign(values.data_ptr<float>(), values.data_ptr<float>() + values.numel());
    if (w.quantizer) {
      d.spec = w.quantizer->spec().str();
      d.bits = w.quantizer->bits();
      add_grid(d, w.weight.detach(), *w.quantizer);
    }
    layers.push_back(std::move(d));
  }
  return layers;
}

Predictions stage_predictions(torch::nn::AnyModule& model, const train::StageConfig& stage,
                              const train::StageData& data, int64_t flow_samples) {
  Predictions p;
  const bool has_test = data.test.size() > 0;
  const data::Dataset& set = has_test ? data.test : data.val;
  p.set = has_test ? "test" : "val";
  if (set.size() == 0) return p;
  model.ptr()->eval();
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> outputs;
  const int64_t batch = std::max<int64_t>(1, stage.batch_size);
  for (int64_t start = 0; start < set.size(); start += batch) {
    const int64_t end = std::min(set.size(), start + batch);
    outputs.push_back(model.forward(set.inputs.slice(0, start, end)).detach());
  }
  const torch::Tensor out = torch::cat(outputs);
  if (train::is_flow_loss(stage.loss.type)) {
    // Flow targets are [N, 3, H, W] = (u, v, valid), the outputs [N, 2, H, W].
    for (int64_t i = 0; i < std::min(flow_samples, set.size()); ++i) {
      const torch::Tensor truth = set.targets[i];
      p.flow_samples.push_back(i);
      p.flow_images.push_back(train::flow_comparison_image(out[i], truth.slice(0, 0, 2), truth[2]));
    }
    return p;
  }
  const train::BatchScores scores = train::score_batch(stage.loss, out, set.targets);
  const bool class_ids = set.targets.scalar_type() == torch::kInt64 && set.targets.dim() == 1;
  if (scores.scores.defined()) {
    p.binary = true;
    p.scores = to_doubles(scores.scores);
    for (double label : to_doubles(set.targets.reshape({-1}))) {
      p.labels.push_back(label >= 0.5 ? 1 : 0);
    }
  }
  torch::Tensor predicted;
  if (stage.loss.type == train::LossType::kCrossEntropy && class_ids && out.dim() == 2) {
    p.classes = std::max<int64_t>(set.num_classes, out.size(1));
    predicted = out.argmax(1);
  } else if (p.binary) {
    p.classes = 2;
    predicted = (scores.scores > 0.5).to(torch::kInt64);
  }
  if (p.classes > 0) {
    const torch::Tensor labels =
        p.binary && !class_ids
            ? torch::tensor(std::vector<int64_t>(p.labels.begin(), p.labels.end()))
            : set.targets.to(torch::kInt64);
    const torch::Tensor m = train::confusion_matrix(predicted, labels, p.classes).contiguous();
    const int64_t* cells = m.data_ptr<int64_t>();
    for (int64_t r = 0; r < p.classes; ++r) {
      p.confusion.emplace_back(cells + r * p.classes, cells + (r + 1) * p.classes);
    }
  }
  return p;
}

StageAnalysis analyse_stage(const std::string& run_dir, const train::RunConfig& config,
                            const train::StageData& data, const std::string& stage,
                            const std::string& export_error) {
  const train::StageConfig& stage_config = config.stage(stage);
  const std::string file = (fs::path(train::stage_dir(run_dir, stage)) / "best.pt").string();
  if (!fs::exists(file)) {
    throw std::runtime_error("stage '" + stage + "' has no checkpoint '" + file + "'");
  }
  const train::Checkpoint checkpoint = train::load_checkpoint(file);
  torch::nn::AnyModule model = train::restore_stage_model(
      config.model_of(stage_config), train::input_features(data.train),
      train::model_outputs(data.train), train::stage_quantizers(stage_config), checkpoint, file,
      config.seed);
  StageAnalysis a;
  a.stage = stage;
  a.layers = layer_weight_data(*model.ptr());
  a.predictions = stage_predictions(model, stage_config, data);
  a.no_cost = export_error;
  if (a.no_cost.empty()) {
    try {
      const exporter::IntegerModel integer = exporter::lower_model(
          *model.ptr(),
          exporter::sample_shape_of(data.train.inputs.sizes(), "data '" + data.train.name + "'"),
          "model");
      a.cost = exporter::model_cost(integer);
      for (const exporter::Layer& layer : integer.layers)
        a.cost_ops.push_back(exporter::op_table_name(layer.op));
    } catch (const std::exception& e) {
      a.no_cost = e.what();
    }
  }
  return a;
}

}  // namespace lowbit::report
