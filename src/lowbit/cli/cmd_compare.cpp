// `lowbit compare RUN --stages fp,w8,w4 [--reference S] [--csv FILE] [--outputs DIR]`: how far
// each stage's outputs lie from a reference stage's on the test set (MAE, MSE, largest
// difference; seed 003's "compare quantized vs FP outputs"), next to each stage's own metrics
// (accuracy, or AEE and outlier share for flow). Flow runs get a last row, the zero-flow baseline:
// the AEE of predicting no motion, i.e. the mean |flow| over the pixels the metrics count.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "lowbit/cli/commands.h"
#include "lowbit/cli/stage_list.h"
#include "lowbit/cli/trained_stage.h"
#include "lowbit/data/events/event_repr.h"
#include "lowbit/data/files/npy.h"
#include "lowbit/train/data_source.h"
#include "lowbit/train/report/csv_log.h"
#include "lowbit/train/report/evaluation.h"
#include "lowbit/train/report/flow_metrics.h"
#include "lowbit/train/report/output_comparison.h"
#include "lowbit/train/report/results_table.h"
#include "lowbit/train/run.h"
#include "lowbit/util/atomic_file.h"

namespace lowbit::cli {
namespace {

namespace fs = std::filesystem;

/// What the command line asked for.
struct CompareOptions {
  std::string run;
  std::string stages;
  std::string reference;
  std::string csv;
  std::string outputs;
  int64_t batch_size = 256;
};

/// One stage's row: its outputs' difference from the reference and its own metrics.
struct StageComparison {
  std::string stage;
  std::string bits = "-";
  train::OutputDifference difference;
  std::vector<std::pair<std::string, double>> metrics;  // in column order
};

// The stage's own metrics on the set, measured as training measures them (train::evaluate with
// the stage's loss and batch size), so they equal its results table: the loss, accuracy and AUC
// where the task defines them, AEE and outlier share for flow losses.
std::vector<std::pair<std::string, double>> stage_metrics(TrainedStage& trained,
                                                          const data::Dataset& set) {
  const train::StageConfig& stage = trained.config.stage(trained.stage);
  const train::EvalResult r = train::evaluate(trained.model, set, stage.loss, stage.batch_size);
  std::vector<std::pair<std::string, double>> metrics = {{"loss", r.loss}};
  for (const auto& [name, value] : {std::pair<const char*, double>{"accuracy", r.accuracy},
                                    {"auc", r.auc},
                                    {"aee", r.aee},
                                    {"outliers", r.outliers}}) {
    if (!std::isnan(value)) metrics.emplace_back(name, value);
  }
  return metrics;
}

// The row label of the zero-flow baseline; parentheses keep it apart from stage names.
constexpr const char* kZeroFlowRow = "(zero flow)";

// AEE and outlier share of an all-zero flow prediction on `set` (targets [N, 3, H, W]), over the
// pixels train::evaluate counts (valid ground truth, and events for inputs [N, T, 2, H, W]): the
// baseline a flow model has to beat. Its AEE is the mean |flow| over those pixels.
train::FlowMetrics zero_flow_metrics(const data::Dataset& set, int64_t batch_size) {
  train::FlowMetrics total;
  for (int64_t begin = 0; begin < set.size(); begin += batch_size) {
    const int64_t end = std::min(set.size(), begin + batch_size);
    const torch::Tensor x = set.inputs.slice(0, begin, end);
    const torch::Tensor y = set.targets.slice(0, begin, end);
    const torch::Tensor events =
        x.dim() == 5 && x.size(2) == 2 ? data::event_pixel_mask(x) : torch::Tensor();
    total = train::combine_flow_metrics(
        total, train::compute_flow_metrics(torch::zeros_like(y.slice(1, 0, 2)), y, events));
  }
  return total;
}

std::string bits_of(const std::string& run_dir, const std::string& stage) {
  const fs::path result = fs::path(train::stage_dir(run_dir, stage)) / "result.json";
  if (!fs::exists(result)) return "-";
  try {
    const train::StageResult r =
        train::stage_result_from_json(nlohmann::json::parse(util::read_file(result.string())));
    return r.bits.empty() ? "-" : r.bits;
  } catch (const std::exception&) {
    return "-";  // an unreadable result.json only loses this cell
  }
}

std::string cell(double value, int digits = 6) {
  return std::isnan(value) ? "-" : train::format_number(value, digits);
}

void run_compare(const CompareOptions& o) {
  const train::RunConfig config = read_run_config(o.run);
  std::vector<std::string> stages;
  if (o.stages.empty()) {
    // Every trained stage, in config order.
    for (const train::StageConfig& s : config.stages) {
      if (fs::exists(fs::path(train::stage_dir(o.run, s.name)) / "best.pt")) {
        stages.push_back(s.name);
      }
    }
    if (stages.empty())
      throw std::runtime_error("compare: run '" + o.run + "' has no trained stage");
  } else {
    stages = split_names(o.stages, "--stages");
  }
  const std::string reference = o.reference.empty() ? stages.front() : o.reference;
  if (std::find(stages.begin(), stages.end(), reference) == stages.end()) {
    stages.insert(stages.begin(), reference);
  }
  // Every stage is checked before the (slow) data and models are loaded.
  for (const std::string& stage : stages) require_trained_stage(config, o.run, stage, "compare");
  if (!o.outputs.empty()) fs::create_directories(o.outputs);

  const train::StageData data = train::load_data(*config.data, config.seed);
  std::string set_name;
  const data::Dataset& set = evaluation_set(data, &set_name);
  if (set.size() == 0) throw std::runtime_error("compare: run '" + o.run + "' has no test samples");

  torch::Tensor reference_outputs;
  std::map<std::string, torch::Tensor> outputs;
  // The reference first, so every other stage is compared as soon as its outputs exist.
  std::vector<std::string> order = {reference};
  for (const std::string& s : stages) {
    if (s != reference) order.push_back(s);
  }
  std::map<std::string, StageComparison> rows;
  for (const std::string& stage : order) {
    TrainedStage trained = load_trained_stage(o.run, stage, &data);
    torch::Tensor out = train::collect_outputs(trained.model, set, o.batch_size);
    if (stage == reference) reference_outputs = out;
    StageComparison row;
    row.stage = stage;
    row.bits = bits_of(o.run, stage);
    try {
      row.difference = train::compare_outputs(out, reference_outputs);
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error("compare: stage '" + stage + "' against '" + reference +
                               "' of run '" + o.run + "': " + e.what());
    }
    row.metrics = stage_metrics(trained, set);
    if (!o.outputs.empty()) {
      data::write_npy((fs::path(o.outputs) / (stage + ".npy")).string(), out);
    }
    rows[stage] = row;
  }

  // Metric columns: every metric any stage has, in first-seen order.
  std::vector<std::string> metric_names;
  for (const std::string& stage : stages) {
    for (const auto& [name, value] : rows[stage].metrics) {
      if (std::find(metric_names.begin(), metric_names.end(), name) == metric_names.end()) {
        metric_names.push_back(name);
      }
    }
  }
  std::vector<std::string> headers = {"stage", "bits", "MAE", "MSE", "max |diff|"};
  headers.insert(headers.end(), metric_names.begin(), metric_names.end());
  train::ResultsTable table(headers);
  std::vector<std::vector<std::string>> csv_rows;
  for (const std::string& stage : stages) {
    const StageComparison& r = rows[stage];
    std::vector<std::string> cells = {r.stage, r.bits, cell(r.difference.mae),
                                      cell(r.difference.mse), cell(r.difference.max_abs)};
    std::vector<std::string> csv = {r.stage,
                                    r.bits,
                                    reference,
                                    set_name,
                                    std::to_string(r.difference.values),
                                    train::format_number(r.difference.mae, 17),
                                    train::format_number(r.difference.mse, 17),
                                    train::format_number(r.difference.max_abs, 17)};
    for (const std::string& name : metric_names) {
      double value = std::numeric_limits<double>::quiet_NaN();
      for (const auto& [n, v] : r.metrics) {
        if (n == name) value = v;
      }
      cells.push_back(cell(value, 4));
      csv.push_back(std::isnan(value) ? "" : train::format_number(value, 17));
    }
    table.add_row(cells);
    csv_rows.push_back(csv);
  }
  const bool flow =
      std::find(metric_names.begin(), metric_names.end(), "aee") != metric_names.end();
  if (flow) {
    const train::FlowMetrics zero = zero_flow_metrics(set, o.batch_size);
    const train::OutputDifference difference =
        train::compare_outputs(torch::zeros_like(reference_outputs), reference_outputs);
    std::vector<std::string> cells = {kZeroFlowRow, "-", cell(difference.mae), cell(difference.mse),
                                      cell(difference.max_abs)};
    std::vector<std::string> csv = {kZeroFlowRow,
                                    "-",
                                    reference,
                                    set_name,
                                    std::to_string(difference.values),
                                    train::format_number(difference.mae, 17),
                                    train::format_number(difference.mse, 17),
                                    train::format_number(difference.max_abs, 17)};
    for (const std::string& name : metric_names) {
      const double value = name == "aee"        ? zero.aee
                           : name == "outliers" ? zero.outlier_share
                                                : std::numeric_limits<double>::quiet_NaN();
      cells.push_back(cell(value, 4));
      csv.push_back(std::isnan(value) ? "" : train::format_number(value, 17));
    }
    table.add_row(cells);
    csv_rows.push_back(csv);
  }
  std::cout << "outputs of run '" << o.run << "' on the " << set_name << " set (" << set.size()
            << " samples) against stage '" << reference << "'\n"
            << table.to_text();
  if (flow) {
    std::cout << kZeroFlowRow << ": the baseline that predicts no motion; its aee is the mean "
              << "|flow| over the pixels with events and valid ground truth\n";
  }
  if (!o.csv.empty()) {
    std::vector<std::string> columns = {"stage",  "bits", "reference", "set",
                                        "values", "mae",  "mse",       "max_abs_diff"};
    columns.insert(columns.end(), metric_names.begin(), metric_names.end());
    std::string text;
    auto line = [&text](const std::vector<std::string>& cells) {
      for (size_t i = 0; i < cells.size(); ++i) {
        text += (i > 0 ? "," : "") + train::csv_escape(cells[i]);
      }
      text += "\n";
    };
    line(columns);
    for (const auto& row : csv_rows) line(row);
    util::write_text_atomically(o.csv, text);
    std::cout << "csv: " << o.csv << "\n";
  }
  if (!o.outputs.empty()) std::cout << "outputs: " << o.outputs << "/STAGE.npy\n";
}

}  // namespace

void add_compare_command(CLI::App& app) {
  auto o = std::make_shared<CompareOptions>();
  CLI::App* cmd = app.add_subcommand(
      "compare",
      "Compare the outputs of a run's stages with a reference stage on the test set (flow runs: "
      "and with the zero-flow baseline)");
  cmd->add_option("run", o->run, "Run directory written by `lowbit train`")->required();
  cmd->add_option("--stages", o->stages,
                  "Comma-separated stages to compare (default: every trained stage)");
  cmd->add_option("--reference", o->reference,
                  "Stage the others are compared with (default: the first of --stages)");
  cmd->add_option("--csv", o->csv, "Also write the table as CSV to this file");
  cmd->add_option("--outputs", o->outputs,
                  "Write each stage's outputs on the test set to DIR/STAGE.npy");
  cmd->add_option("--batch-size", o->batch_size, "Samples per forward pass")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
  cmd->callback([o] { run_compare(*o); });
}

}  // namespace lowbit::cli
