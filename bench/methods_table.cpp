// Summarises bench/methods: reads ROOT/EXPERIMENT/seedN/results.json (and each stage's best.pt
// and the weights.csv of the weight report) and prints one Markdown table: per experiment and
// stage the bits, test accuracy per seed and their mean, the share of exactly-zero layer weights,
// weight bytes, seconds per epoch, and the last logged bits per layer where the stage logged them.
//   methods_table ROOT > ROOT/table.md        (bench/methods/run.sh does this)
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "lowbit/train/checkpoint/checkpoint.h"
#include "lowbit/train/report/csv_log.h"
#include "lowbit/train/report/results_table.h"
#include "lowbit/util/atomic_file.h"

namespace fs = std::filesystem;
using lowbit::train::format_number;

namespace {

// One stage of one seed.
struct StageRun {
  std::string bits;
  double accuracy = NAN;
  double zero_share = NAN;
  int64_t weight_bytes = 0;
  double seconds_per_epoch = NAN;
  std::string layer_bits;
};

// Share of exact zeros over the 2-D and 4-D `.weight` tensors (linear and conv layers).
double zero_share(const std::string& checkpoint_path) {
  if (!fs::exists(checkpoint_path)) return NAN;
  const lowbit::train::Checkpoint checkpoint = lowbit::train::load_checkpoint(checkpoint_path);
  double zeros = 0, total = 0;
  for (const auto& item : checkpoint.model) {
    const std::string& name = item.key();
    const bool weight = name.size() > 7 && name.compare(name.size() - 7, 7, ".weight") == 0;
    if (!weight || item.value().dim() < 2) continue;
    zeros += item.value().eq(0).sum().item<double>();
    total += static_cast<double>(item.value().numel());
  }
  return total > 0 ? zeros / total : NAN;
}

// "fc1 3, fc2 2": the bits column of the stage's last weights.csv epoch.
std::string last_layer_bits(const fs::path& csv, const std::string& stage) {
  if (!fs::exists(csv)) return "";
  std::ifstream in(csv);
  std::string line, last_epoch;
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> by_epoch;
  std::getline(in, line);  // header: stage,epoch,layer,bits,...
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream row(line);
    for (std::string cell; std::getline(row, cell, ',');) cells.push_back(cell);
    if (cells.size() < 4 || cells[0] != stage) continue;
    if (cells[1] != last_epoch) by_epoch[cells[1]].clear();
    last_epoch = cells[1];
    by_epoch[cells[1]].emplace_back(cells[2], cells[3]);
  }
  std::string text;
  for (const auto& [layer, bits] : by_epoch[last_epoch]) {
    text += (text.empty() ? "" : ", ") + layer + " " + bits;
  }
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: methods_table ROOT  (ROOT/EXPERIMENT/seedN/results.json)\n";
    return 2;
  }
  const fs::path root = argv[1];
  if (!fs::is_directory(root)) {
    std::cerr << "methods_table: '" << root.string() << "' is not a directory\n";
    return 1;
  }
  // experiment -> stage -> seed -> run; std::map keeps the output order stable.
  std::map<std::string, std::vector<std::string>> stage_order;
  std::map<std::string, std::map<std::string, std::map<std::string, StageRun>>> runs;
  std::vector<fs::path> experiments;
  for (const auto& entry : fs::directory_iterator(root)) {
    if (entry.is_directory()) experiments.push_back(entry.path());
  }
  std::sort(experiments.begin(), experiments.end());
  std::vector<std::string> seeds_seen;
  try {
    for (const fs::path& experiment : experiments) {
      std::vector<fs::path> seed_dirs;
      for (const auto& entry : fs::directory_iterator(experiment)) {
        if (entry.is_directory() && fs::exists(entry.path() / "results.json")) {
          seed_dirs.push_back(entry.path());
        }
      }
      std::sort(seed_dirs.begin(), seed_dirs.end());
      const std::string name = experiment.filename().string();
      for (const fs::path& seed_dir : seed_dirs) {
        const std::string seed = seed_dir.filename().string();
        if (std::find(seeds_seen.begin(), seeds_seen.end(), seed) == seeds_seen.end()) {
          seeds_seen.push_back(seed);
        }
        const auto results =
            nlohmann::json::parse(lowbit::util::read_file((seed_dir / "results.json").string()));
        for (const auto& stage : results.at("stages")) {
          const std::string stage_name = stage.at("stage").get<std::string>();
          auto& order = stage_order[name];
          if (std::find(order.begin(), order.end(), stage_name) == order.end()) {
            order.push_back(stage_name);
          }
          StageRun run;
          run.bits = stage.at("bits").get<std::string>();
          if (!stage.at("accuracy").is_null()) run.accuracy = stage.at("accuracy").get<double>();
          run.weight_bytes = stage.at("weight_bytes").get<int64_t>();
          const int64_t epochs = stage.at("epochs").get<int64_t>();
          if (epochs > 0) run.seconds_per_epoch = stage.at("seconds").get<double>() / epochs;
          run.zero_share = zero_share((seed_dir / stage_name / "best.pt").string());
          run.layer_bits = last_layer_bits(seed_dir / "weights.csv", stage_name);
          runs[name][stage_name][seed] = run;
        }
      }
    }
  } catch (const std::exception& e) {
    std::cerr << "methods_table: " << e.what() << "\n";
    return 1;
  }
  std::sort(seeds_seen.begin(), seeds_seen.end());

  std::vector<std::string> headers = {"experiment", "stage", "bits"};
  for (const auto& seed : seeds_seen) headers.push_back("acc " + seed);
  for (const char* h : {"acc mean", "zero weights", "weight bytes", "s/epoch", "bits per layer"}) {
    headers.push_back(h);
  }
  lowbit::train::ResultsTable table(headers);
  for (const auto& [experiment, order] : stage_order) {
    for (const std::string& stage : order) {
      const auto& by_seed = runs[experiment][stage];
      std::vector<std::string> row = {experiment, stage, by_seed.begin()->second.bits};
      double sum = 0, seconds = 0;
      int n = 0;
      for (const auto& seed : seeds_seen) {
        const auto found = by_seed.find(seed);
        if (found == by_seed.end() || std::isnan(found->second.accuracy)) {
          row.push_back("-");
          continue;
        }
        row.push_back(format_number(100 * found->second.accuracy, 4));
        sum += found->second.accuracy;
        seconds += found->second.seconds_per_epoch;
        ++n;
      }
      const StageRun& first = by_seed.begin()->second;
      row.push_back(n > 0 ? format_number(100 * sum / n, 4) : "-");
      row.push_back(std::isnan(first.zero_share) ? "-"
                                                 : format_number(100 * first.zero_share, 3) + "%");
      row.push_back(std::to_string(first.weight_bytes));
      row.push_back(n > 0 ? format_number(seconds / n, 3) : "-");
      row.push_back(first.layer_bits.empty() ? "-" : first.layer_bits);
      table.add_row(row);
    }
  }
  std::cout << table.to_markdown();
  return 0;
}
