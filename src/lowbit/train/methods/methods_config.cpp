#include "lowbit/train/methods/methods_config.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

namespace lowbit::train {
namespace {

// The longest teacher path (PATH_MAX on Linux).
constexpr size_t kMaxTeacherLength = 4096;

DistillConfig parse_distill(const config::ConfigNode& node,
                            const std::vector<std::string>& earlier) {
  DistillConfig config;
  config.teacher = node.require<std::string>("teacher");
  if (config.teacher.find('\0') != std::string::npos || config.teacher.size() > kMaxTeacherLength) {
    node.fail("teacher", "expected a stage name or a checkpoint path of at most " +
                             std::to_string(kMaxTeacherLength) + " characters without NUL");
  }
  config.teacher_stage = std::find(earlier.begin(), earlier.end(), config.teacher) != earlier.end();
  // The error_code form: a path the OS cannot even look up is absent, not a filesystem_error.
  std::error_code error;
  if (!config.teacher_stage && !std::filesystem::exists(config.teacher, error)) {
    std::string names;
    for (const auto& n : earlier) names += (names.empty() ? "" : ", ") + n;
    node.fail("teacher", "expected an earlier stage (" + (names.empty() ? "none" : names) +
                             ") or an existing checkpoint file, got '" + config.teacher + "'");
  }
  config.options.alpha = node.get_in_range<double>("alpha", 0.5, 0.0, 1.0);
  config.options.temperature = node.get_positive<double>("temperature", 4.0);
  node.done();
  return config;
}

PruneConfig parse_prune(const config::ConfigNode& node, int64_t epochs) {
  PruneConfig config;
  config.scope = node.choice("scope", "layer", {"layer", "global"}) == "global"
                     ? PruneScope::kGlobal
                     : PruneScope::kLayer;
  SparsitySchedule& s = config.schedule;
  s.final = node.get_in_range<double>("final", 0.0, 0.0, 0.999);
  s.initial = node.get_in_range<double>("initial", 0.0, 0.0, s.final);
  s.begin = node.get_in_range<int64_t>("begin", 0, 0, epochs - 1);
  // By default the final sparsity is reached half way, leaving half the stage to recover.
  s.end = node.get_in_range<int64_t>("end", std::max<int64_t>(s.begin + 1, epochs / 2), s.begin + 1,
                                     std::max<int64_t>(s.begin + 1, epochs - 1));
  s.frequency = node.get_in_range<int64_t>("frequency", 1, 1, s.end - s.begin);
  if (auto groups = node.optional_child("channel_groups")) {
    config.channel_fraction = groups->get_in_range<double>("fraction", 0.0, 0.0, 0.999);
    config.group_size = groups->get_in_range<int64_t>("group_size", 4, 1, 1 << 20);
    groups->done();
  }
  config.rewind = node.get<bool>("rewind", false);
  if (s.final == 0.0 && config.channel_fraction == 0.0) {
    node.fail("final", "expected a sparsity in (0, 1) or channel_groups.fraction > 0");
  }
  node.done();
  return config;
}

SwaConfig parse_swa(const config::ConfigNode& node, int64_t epochs) {
  SwaConfig config;
  config.start_epoch = node.get_in_range<int64_t>(
      "start_epoch", std::max<int64_t>(0, epochs * 3 / 4), 0, epochs - 1);
  const std::string batches = node.get<std::string>("bn_batches", "all");
  if (batches != "all") {
    config.bn_batches = node.get_in_range<int64_t>("bn_batches", 1, 1, kMaxBnBatches);
  }
  node.done();
  return config;
}

}  // namespace

MethodsConfig parse_methods(const config::ConfigNode& node, int64_t epochs,
                            const std::vector<std::string>& earlier) {
  MethodsConfig config;
  if (auto d = node.optional_child("distill")) config.distill = parse_distill(*d, earlier);
  if (auto p = node.optional_child("prune")) config.prune = parse_prune(*p, epochs);
  if (auto s = node.optional_child("swa")) config.swa = parse_swa(*s, epochs);
  config.weight_report = node.get<bool>("weight_report", false);
  node.done();
  return config;
}

}  // namespace lowbit::train
