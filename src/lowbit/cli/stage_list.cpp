#include "lowbit/cli/stage_list.h"

#include <algorithm>
#include <filesystem>
#include <stdexcept>

#include "lowbit/config/config_reader.h"
#include "lowbit/util/atomic_file.h"

namespace lowbit::cli {

namespace fs = std::filesystem;

train::RunConfig read_run_config(const std::string& run_dir) {
  const std::string file = (fs::path(run_dir) / "config.yaml").string();
  if (!fs::is_directory(run_dir)) {
    throw std::runtime_error("'" + run_dir + "' is not a folder (expected a run directory)");
  }
  if (!fs::exists(file)) {
    throw std::runtime_error("'" + file + "' does not exist: '" + run_dir +
                             "' is not a run directory written by `lowbit train`");
  }
  train::RunConfig config =
      train::parse_run_config(config::ConfigNode::parse(util::read_file(file), file));
  config.file = file;
  return config;
}

void require_trained_stage(const train::RunConfig& config, const std::string& run_dir,
                           const std::string& stage, const std::string& command) {
  std::string names;
  bool found = false;
  for (const train::StageConfig& s : config.stages) {
    names += (names.empty() ? "" : ", ") + s.name;
    found = found || s.name == stage;
  }
  if (!found) {
    throw std::runtime_error(command + ": run '" + run_dir + "' has no stage '" + stage +
                             "' (its stages: " + names + ")");
  }
  const fs::path best = fs::path(train::stage_dir(run_dir, stage)) / "best.pt";
  if (!fs::exists(best)) {
    throw std::runtime_error(command + ": stage '" + stage + "' of run '" + run_dir +
                             "' is not trained (no '" + best.string() +
                             "'): train it with `lowbit train " + run_dir +
                             "/config.yaml --stage " + stage + "`");
  }
}

std::vector<std::string> split_names(const std::string& list, const std::string& option) {
  std::vector<std::string> names;
  size_t start = 0;
  while (start <= list.size()) {
    size_t end = list.find(',', start);
    if (end == std::string::npos) end = list.size();
    std::string name = list.substr(start, end - start);
    name.erase(0, name.find_first_not_of(" \t"));
    name.erase(name.find_last_not_of(" \t") + 1);
    if (name.empty()) {
      throw std::invalid_argument(option + " '" + list + "': empty name in the list");
    }
    if (std::find(names.begin(), names.end(), name) != names.end()) {
      throw std::invalid_argument(option + " '" + list + "': '" + name + "' is listed twice");
    }
    names.push_back(name);
    start = end + 1;
  }
  return names;
}

const data::Dataset& evaluation_set(const train::StageData& data, std::string* name) {
  const bool test = data.test.size() > 0;
  if (name != nullptr) *name = test ? "test" : "val";
  return test ? data.test : data.val;
}

}  // namespace lowbit::cli
