#include "lowbit/train/run.h"

#include <ATen/Parallel.h>

#include <cmath>
#include <filesystem>
#include <set>
#include <sstream>
#include <string>

#include "lowbit/models/model.h"
#include "lowbit/train/checkpoint/checkpoint.h"
#include "lowbit/train/checkpoint/stage_restore.h"
#include "lowbit/train/checkpoint/warm_start.h"
#include "lowbit/train/data_source.h"
#include "lowbit/train/device.h"
#include "lowbit/train/quantize/quantize_model.h"
#include "lowbit/train/report/csv_log.h"
#include "lowbit/train/report/results_table.h"
#include "lowbit/util/atomic_file.h"

namespace lowbit::train {
namespace {

namespace fs = std::filesystem;

// NaN has no JSON form; it is written as null.
nlohmann::json number_or_null(double value) {
  return std::isnan(value) ? nlohmann::json(nullptr) : nlohmann::json(value);
}

double number_from(const nlohmann::json& value) {
  return value.is_null() ? std::nan("") : value.get<double>();
}

std::string result_path(const std::string& run_dir, const std::string& stage) {
  return (fs::path(stage_dir(run_dir, stage)) / "result.json").string();
}

std::string cell(double value, int digits) {
  return std::isnan(value) ? "-" : format_number(value, digits);
}

// The lines under the results table that say why a stage's flash bytes are FP32: the first line
// of each reason (results.json keeps the whole message).
std::string export_notes(const std::vector<std::pair<std::string, std::string>>& not_exported) {
  std::string notes;
  for (const auto& [stage, why] : not_exported) {
    notes += "no integer model for stage '" + stage + "': " + why.substr(0, why.find('\n')) + "\n";
  }
  return notes;
}

}  // namespace

std::vector<StageSize> stage_sizes(const std::vector<StageResult>& results,
                                   const std::vector<std::optional<StageCost>>& costs,
                                   const std::vector<std::string>& models) {
  const auto model = [&](size_t i) { return i < models.size() ? models[i] : std::string(); };
  // An FP stage has no integer model to count; its architecture's MACs are those of an integer
  // stage of the same model (a teacher stage of another model has none).
  const auto architecture_macs = [&](size_t i) {
    std::string macs = "-";
    for (size_t k = 0; k < costs.size(); ++k) {
      if (costs[k] && model(k) == model(i)) macs = std::to_string(costs[k]->macs);
    }
    return macs;
  };
  std::vector<StageSize> sizes;
  for (size_t i = 0; i < results.size(); ++i) {
    StageSize size;
    if (i < costs.size() && costs[i]) {
      size.flash = std::to_string(costs[i]->flash_bytes);
      size.flash_form = "int";
      size.macs = std::to_string(costs[i]->macs);
      size.ram = std::to_string(costs[i]->ram_bytes);
      if (costs[i]->macs_per_step > 0) size.macs_per_step = std::to_string(costs[i]->macs_per_step);
      if (costs[i]->synaptic_ops_per_step >= 0) {
        size.synaptic_ops = std::to_string(std::llround(costs[i]->synaptic_ops_per_step));
      }
    } else {
      size.flash = std::to_string(4 * results[i].parameters);
      size.flash_form = "fp32";
      size.macs = architecture_macs(i);
    }
    sizes.push_back(size);
  }
  return sizes;
}

ResultsTable results_table(const std::vector<StageResult>& results,
                           const std::vector<StageSize>& sizes) {
  // Flow stages measure AEE and outliers, the others accuracy and AUC; a column group shows
  // when a stage has it, so classification tables stay as they were.
  bool any_flow = false, all_flow = !results.empty();
  for (const StageResult& r : results) {
    any_flow = any_flow || !std::isnan(r.test.aee);
    all_flow = all_flow && !std::isnan(r.test.aee);
  }
  // Sequence models (spiking) also show their work per time step.
  bool any_sequence = false;
  for (const StageSize& size : sizes) any_sequence = any_sequence || size.macs_per_step != "-";
  std::vector<std::string> headers = {"stage",       "bits",       "parameters", "weight bytes",
                                      "flash bytes", "flash form", "RAM bytes",  "MACs"};
  if (any_sequence) headers.insert(headers.end(), {"MACs / step", "synaptic ops / step"});
  if (!all_flow) headers.insert(headers.end(), {"accuracy", "auc"});
  if (any_flow) headers.insert(headers.end(), {"AEE", "outliers"});
  headers.insert(headers.end(), {"epochs", "time (s)", "status"});
  ResultsTable table(headers);
  for (size_t i = 0; i < results.size(); ++i) {
    const StageResult& r = results[i];
    const StageSize size = i < sizes.size() ? sizes[i] : StageSize{"-", "-"};
    std::vector<std::string> row = {r.stage,
                                    r.bits,
                                    std::to_string(r.parameters),
                                    std::to_string(r.weight_bytes),
                                    size.flash,
                                    size.flash_form,
                                    size.ram,
                                    size.macs};
    if (any_sequence) row.insert(row.end(), {size.macs_per_step, size.synaptic_ops});
    if (!all_flow) row.insert(row.end(), {cell(r.test.accuracy, 4), cell(r.test.auc, 4)});
    if (any_flow) row.insert(row.end(), {cell(r.test.aee, 4), cell(r.test.outliers, 4)});
    row.insert(row.end(), {std::to_string(r.epochs_run), format_number(r.seconds, 3),
                           r.completed ? "done" : (r.interrupted ? "interrupted" : "stopped")});
    table.add_row(row);
  }
  return table;
}

namespace {

// The heading of seed 003's size table under the results table.
std::string size_table_title(int64_t parameters) {
  return "model size by bit width (" + std::to_string(parameters) + " parameters):\n";
}

// The `model:` section a teacher checkpoint file was trained with: its run's config.yaml (the
// checkpoint is RUN/STAGE/best.pt or last.pt) and the section of the checkpoint's stage, so a
// teacher may be another model than the student (a CNN teaching an MLP); the student's own
// section when the file is not in a run folder.
config::ConfigNode teacher_model(const StageConfig& student, const RunConfig& config,
                                 const std::string& path, const Checkpoint& checkpoint,
                                 std::ostream& log) {
  const fs::path run_config = fs::path(path).parent_path().parent_path() / "config.yaml";
  if (!fs::is_regular_file(run_config)) return config.model_of(student);
  const RunConfig teacher_run = load_run_config(run_config.string());
  log << "distillation teacher model: the model section of " << run_config.string() << "\n";
  for (const StageConfig& stage : teacher_run.stages) {
    if (stage.name == checkpoint.stage) return teacher_run.model_of(stage);
  }
  return *teacher_run.model;  // parse_run_config requires the run's model section
}

// The teacher of `methods.distill`: an earlier stage's best.pt restored with that stage's
// quantizers, or a checkpoint file (of any model: teacher_model) restored with the quantizers its
// saved stage section names.
torch::nn::AnyModule load_teacher(const RunConfig& config, const StageConfig& student,
                                  const DistillConfig& distill, int64_t in_features,
                                  int64_t outputs, std::ostream& log) {
  std::string path = distill.teacher;
  if (distill.teacher_stage) {
    path = (fs::path(stage_dir(config.output, distill.teacher)) / "best.pt").string();
    if (!fs::exists(path)) {
      throw CheckpointError("the distillation teacher, stage '" + distill.teacher + "', has no '" +
                            path + "': run that stage first");
    }
  }
  const Checkpoint checkpoint = load_checkpoint(path);
  const StageQuantizers quantizers = distill.teacher_stage
                                         ? stage_quantizers(config.stage(distill.teacher))
                                         : saved_stage_quantizers(checkpoint, path);
  const config::ConfigNode model = distill.teacher_stage
                                       ? config.model_of(config.stage(distill.teacher))
                                       : teacher_model(student, config, path, checkpoint, log);
  torch::nn::AnyModule teacher =
      restore_stage_model(model, in_features, outputs, quantizers, checkpoint, path, config.seed);
  log << "distillation teacher: " << path << "\n";
  return teacher;
}

}  // namespace

nlohmann::json stage_result_json(const StageResult& r) {
  return {{"stage", r.stage},
          {"completed", r.completed},
          {"interrupted", r.interrupted},
          {"stop_reason", r.stop_reason},
          {"epochs", r.epochs_run},
          {"best_epoch", r.best_epoch + 1},
          {"best_metric", number_or_null(r.best_metric)},
          {"evaluated_on", r.test_set},
          {"loss", number_or_null(r.test.loss)},
          {"accuracy", number_or_null(r.test.accuracy)},
          {"auc", number_or_null(r.test.auc)},
          {"aee", number_or_null(r.test.aee)},
          {"outliers", number_or_null(r.test.outliers)},
          {"seconds", r.seconds},
          {"parameters", r.parameters},
          {"weight_bytes", r.weight_bytes},
          {"bits", r.bits}};
}

StageResult stage_result_from_json(const nlohmann::json& j) {
  StageResult r;
  r.stage = j.at("stage").get<std::string>();
  r.completed = j.at("completed").get<bool>();
  r.interrupted = j.at("interrupted").get<bool>();
  r.stop_reason = j.at("stop_reason").get<std::string>();
  r.epochs_run = j.at("epochs").get<int64_t>();
  r.best_epoch = j.at("best_epoch").get<int64_t>() - 1;
  r.best_metric = number_from(j.at("best_metric"));
  r.test_set = j.at("evaluated_on").get<std::string>();
  r.test.loss = number_from(j.at("loss"));
  r.test.accuracy = number_from(j.at("accuracy"));
  r.test.auc = number_from(j.at("auc"));
  // Results written before flow metrics existed have neither key.
  if (j.contains("aee")) r.test.aee = number_from(j.at("aee"));
  if (j.contains("outliers")) r.test.outliers = number_from(j.at("outliers"));
  r.seconds = j.at("seconds").get<double>();
  r.parameters = j.at("parameters").get<int64_t>();
  r.weight_bytes = j.at("weight_bytes").get<int64_t>();
  r.bits = j.at("bits").get<std::string>();
  return r;
}

namespace {

// What every stage of a run shares: the data (on the run's device) and the model's shape.
struct RunInputs {
  StageData data;
  torch::Device device;
  int64_t in_features = 0;
  int64_t outputs = 0;
};

void log_removed(const std::vector<std::string>& removed, std::ostream& log) {
  for (const std::string& path : removed) {
    log << "removed '" << path << "', left by an interrupted save\n";
  }
}

// Refuses a run folder that cannot be made: the path, or the nearest part of it that exists, is a
// file. Checked before the data are loaded, so the mistake costs no time and writes nothing.
void check_run_dir_path(const std::string& output) {
  std::error_code ec;
  for (fs::path part = fs::path(output); !part.empty(); part = part.parent_path()) {
    const fs::file_status status = fs::status(part, ec);
    if (!fs::exists(status)) continue;
    if (fs::is_directory(status)) return;
    throw std::runtime_error("run folder '" + output + "': '" + part.string() +
                             "' is a file, not a folder (give --out a new path or a folder)");
  }
}

// Rank 0's run directory: created, cleared of an interrupted save's temporaries when resuming,
// and holding the config that `lowbit export` rebuilds the model and reloads the data from.
void prepare_run_dir(const RunConfig& config, const RunOptions& options) {
  fs::create_directories(config.output);
  if (options.resume) log_removed(util::remove_stale_temp_files(config.output), *options.log);
  if (!config.text.empty()) {
    util::write_text_atomically((fs::path(config.output) / "config.yaml").string(), config.text);
  }
}

RunInputs load_inputs(const RunConfig& config, const RunOptions& options) {
  std::ostream& log = *options.log;
  StageData data = load_data(*config.data, config.seed);
  // Model, data and quantizers on one device; the data move once, not per batch.
  const torch::Device device = resolve_device(config.device, options.local_rank);
  if (!device.is_cpu()) {
    for (data::Dataset* set : {&data.train, &data.val, &data.test}) {
      if (set->size() == 0) continue;
      set->inputs = set->inputs.to(device);
      set->targets = set->targets.to(device);
    }
    log << "device: " << device.str() << "\n";
  }
  for (const StageConfig& stage : config.stages) {
    check_targets_for_loss(data.train, stage.loss, stage.name);
  }
  log << "data: " << data.train.size() << " training, " << data.val.size() << " validation, "
      << data.test.size() << " test samples\n";
  const int64_t in_features = input_features(data.train);
  const int64_t outputs = model_outputs(data.train);
  return RunInputs{std::move(data), device, in_features, outputs};
}

// Whether `--resume` skips `stage`: its result.json says it completed. Rank 0 first removes the
// checkpoint temporaries of a killed run, which are checkpoint-sized and would never go away.
bool completed_before(const std::string& run_dir, const std::string& stage, bool root,
                      std::ostream& log) {
  if (root && fs::is_directory(stage_dir(run_dir, stage))) {
    log_removed(util::remove_stale_temp_files(stage_dir(run_dir, stage)), log);
  }
  const std::string path = result_path(run_dir, stage);
  return fs::exists(path) &&
         stage_result_from_json(nlohmann::json::parse(util::read_file(path))).completed;
}

// Starts `model` from the stage's `from`: an earlier stage's best.pt or a checkpoint file.
void warm_start_stage(torch::nn::Module& model, const StageConfig& stage,
                      const std::string& run_dir, std::ostream& log) {
  const std::string source = stage.from_stage
                                 ? (fs::path(stage_dir(run_dir, stage.from)) / "best.pt").string()
                                 : stage.from;
  if (stage.from_stage && !fs::exists(source)) {
    throw CheckpointError("stage '" + stage.name + "' warm-starts from stage '" + stage.from +
                          "', but '" + source + "' does not exist: run that stage first");
  }
  Checkpoint checkpoint = load_checkpoint(source);
  WarmStartReport report = warm_start(model, checkpoint.model, stage.strict);
  log << report.text(stage.from_stage ? "stage '" + stage.from + "' (" + source + ")" : source,
                     "stage '" + stage.name + "'");
}

TrainerOptions trainer_options(const RunConfig& config, const RunOptions& options,
                               const StageConfig& stage, const RunInputs& inputs) {
  TrainerOptions trainer_options;
  trainer_options.run_dir = config.output;
  trainer_options.seed = config.seed;
  trainer_options.resume = options.resume;
  trainer_options.log = options.log;
  trainer_options.live_progress = options.live_progress;
  trainer_options.stop_requested = options.stop_requested;
  trainer_options.comm = options.comm;
  if (stage.methods.distill) {
    trainer_options.teacher = load_teacher(config, stage, *stage.methods.distill,
                                           inputs.in_features, inputs.outputs, *options.log);
    trainer_options.teacher.ptr()->to(inputs.device);
  }
  return trainer_options;
}

// Builds, quantizes and warm-starts the stage's model, trains it and writes its result.json.
StageResult train_stage(const RunConfig& config, const RunOptions& options,
                        const StageConfig& stage, const RunInputs& inputs, bool root) {
  std::ostream& log = *options.log;
  const std::string& run_dir = config.output;
  log << "== stage '" << stage.name << "' ==\n";
  torch::manual_seed(config.seed);
  torch::nn::AnyModule model =
      models::build_model(config.model_of(stage), inputs.in_features, inputs.outputs);
  QuantizationReport quantization = quantize_model(*model.ptr(), stage.quantization);
  if (!quantization.layers.empty()) log << "quantization:\n" << quantization.text();
  const std::string last = (fs::path(stage_dir(run_dir, stage.name)) / "last.pt").string();
  const bool resuming = options.resume && fs::exists(last);
  if (!stage.from.empty() && !resuming) warm_start_stage(*model.ptr(), stage, run_dir, log);
  model.ptr()->to(inputs.device);
  Trainer trainer(model, stage, trainer_options(config, options, stage, inputs));
  StageResult result = trainer.run(inputs.data);
  if (root) {
    util::write_text_atomically(result_path(run_dir, stage.name),
                                stage_result_json(result).dump(2) + "\n");
  }
  // The next stage may warm-start from this one's best.pt on every rank.
  if (options.comm != nullptr) options.comm->barrier();
  return result;
}

// Reads the result of every stage that has one, including those of earlier invocations, and
// costs those with a best.pt; returns one cost per result.
std::vector<std::optional<StageCost>> collect_results(const RunConfig& config,
                                                      const RunOptions& options,
                                                      const StageData& data, RunSummary& summary) {
  const std::string& run_dir = config.output;
  std::vector<std::optional<StageCost>> costs;
  for (const StageConfig& stage : config.stages) {
    const std::string path = result_path(run_dir, stage.name);
    if (!fs::exists(path)) continue;
    summary.results.push_back(stage_result_from_json(nlohmann::json::parse(util::read_file(path))));
    const bool trained = fs::exists(fs::path(stage_dir(run_dir, stage.name)) / "best.pt");
    costs.push_back(std::nullopt);
    if (!options.stage_cost || !trained) continue;
    if (trains_full_precision(stage)) {
      // Not a failure to report with a fix: an FP stage is not meant to export.
      summary.not_exported.emplace_back(stage.name, "it trains in full precision (no quantizers)");
      continue;
    }
    try {
      costs.back() = options.stage_cost(run_dir, stage.name, data);
    } catch (const std::exception& e) {
      // The table then shows FP32 bytes, and says why below it.
      summary.not_exported.emplace_back(stage.name, e.what());
    }
  }
  return costs;
}

// The stages of results.json: each result with its sizes and, if it has none, why it does not
// export.
nlohmann::json stages_json(const RunSummary& summary, const std::vector<StageSize>& sizes) {
  nlohmann::json stages = nlohmann::json::array();
  for (size_t i = 0; i < summary.results.size(); ++i) {
    nlohmann::json entry = stage_result_json(summary.results[i]);
    // Sizes depend on the export code, not on training, so they are not kept in result.json.
    entry["flash_bytes"] = std::stoll(sizes[i].flash);
    entry["flash_form"] = sizes[i].flash_form;
    const auto count = [](const std::string& cell) {
      return cell == "-" ? nlohmann::json(nullptr) : nlohmann::json(std::stoll(cell));
    };
    entry["macs"] = count(sizes[i].macs);
    entry["ram_bytes"] = count(sizes[i].ram);
    if (sizes[i].macs_per_step != "-") entry["macs_per_step"] = count(sizes[i].macs_per_step);
    if (sizes[i].synaptic_ops != "-") {
      entry["synaptic_ops_per_step"] = count(sizes[i].synaptic_ops);
    }
    for (const auto& [name, why] : summary.not_exported) {
      if (name == summary.results[i].stage) entry["export_error"] = why;
    }
    stages.push_back(entry);
  }
  return stages;
}

// The results table, its export notes and seed 003's size table: printed, and written to
// results.md and results.json.
void write_results(const RunConfig& config, const RunOptions& options, const StageData& data,
                   RunSummary& summary) {
  const std::vector<std::optional<StageCost>> costs =
      collect_results(config, options, data, summary);
  std::vector<std::string> models;
  for (const StageResult& r : summary.results) {
    models.push_back(config.model_text(config.stage(r.stage)));
  }
  const std::vector<StageSize> sizes = stage_sizes(summary.results, costs, models);
  const nlohmann::json stages = stages_json(summary, sizes);
  ResultsTable table = results_table(summary.results, sizes);
  const std::string notes = export_notes(summary.not_exported);
  // Seed 003's size table, of the deployed model: the last stage's parameters (a teacher stage
  // before it may be another model).
  const int64_t parameters = summary.results.empty() ? 0 : summary.results.back().parameters;
  const ResultsTable size_table = bit_width_size_table(parameters);
  nlohmann::json size_by_bits = nlohmann::json::object();
  for (int bits : kSizeTableBits) {
    size_by_bits[std::to_string(bits)] = packed_bytes(parameters, bits);
  }
  summary.table =
      table.to_text() + notes + "\n" + size_table_title(parameters) + size_table.to_text();
  util::write_text_atomically((fs::path(config.output) / "results.md").string(),
                              "# Results of " + config.file + "\n\n" + table.to_markdown() +
                                  (notes.empty() ? "" : "\n" + notes) + "\n" +
                                  size_table_title(parameters) + "\n" + size_table.to_markdown());
  util::write_text_atomically(
      (fs::path(config.output) / "results.json").string(),
      nlohmann::json{{"config", config.file}, {"stages", stages}, {"size_by_bits", size_by_bits}}
              .dump(2) +
          "\n");
  *options.log << "\n" << summary.table;
}

}  // namespace

RunSummary run_training(const RunConfig& config, const RunOptions& options) {
  at::set_num_threads(config.threads);
  // In a data-parallel job rank 0 alone writes; the others read only what it wrote before.
  const bool root = options.comm == nullptr || options.comm->is_root();
  if (!options.only_stage.empty()) config.stage(options.only_stage);  // throws for a bad name
  if (root) check_run_dir_path(config.output);
  const RunInputs inputs = load_inputs(config, options);
  // A model section is read when a stage starts: a mistake in it (or in a later stage's own)
  // would surface only after the run directory was written and earlier stages trained, so every
  // model is built once now, before anything is written.
  std::set<std::string> checked;
  for (const StageConfig& stage : config.stages) {
    if (!checked.insert(config.model_text(stage)).second) continue;  // the same section again
    models::build_model(config.model_of(stage), inputs.in_features, inputs.outputs);
  }
  if (root) prepare_run_dir(config, options);

  RunSummary summary;
  for (const StageConfig& stage : config.stages) {
    if (!options.only_stage.empty() && stage.name != options.only_stage) continue;
    if (options.resume && completed_before(config.output, stage.name, root, *options.log)) {
      *options.log << "stage '" << stage.name << "': already completed, skipped\n";
      continue;
    }
    const StageResult result = train_stage(config, options, stage, inputs, root);
    if (!result.completed) {
      summary.stopped = "stage '" + stage.name + "' " + result.stop_reason;
      if (result.interrupted) break;
    }
  }
  if (root) write_results(config, options, inputs.data, summary);
  return summary;
}

}  // namespace lowbit::train
