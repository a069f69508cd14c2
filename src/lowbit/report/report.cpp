#include "lowbit/report/report.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <stdexcept>

#include "lowbit/report/svg.h"
#include "lowbit/train/data_source.h"
#include "lowbit/util/atomic_file.h"
#include "lowbit/util/shell.h"

namespace lowbit::report {
namespace {

namespace fs = std::filesystem;

std::string event_label(const train::EpochEvent& e) {
  const std::string where = e.layers == "*" ? "" : " " + e.layers;
  const std::string role = e.role == "all" ? "" : " " + e.role;
  switch (e.action) {
    case train::EventAction::kSetBits:
      return std::to_string(e.bits) + " bits" + role + where;
    case train::EventAction::kSwitchQuantizer:
      return "switch to " + e.spec + role + where;
    case train::EventAction::kFreeze:
      return "freeze" + role + where;
    case train::EventAction::kUnfreeze:
      return "unfreeze" + role + where;
    case train::EventAction::kSetLr:
      return "lr " + short_number(e.lr);
    case train::EventAction::kFoldBatchNorm:
      return "fold BN" + where;
  }
  return "event";
}

// Checked before anything is written, so a missing tool costs no half-written output.
void require_rsvg_convert() {
  if (!util::on_path("rsvg-convert")) {
    throw std::runtime_error(
        "report: --png needs rsvg-convert, which is not installed (Debian package librsvg2-bin; "
        "scripts/setup.sh installs it)");
  }
}

}  // namespace

std::vector<std::pair<double, std::string>> stage_events(const train::StageConfig& stage) {
  std::vector<std::pair<double, std::string>> events;
  for (const train::EpochEvent& e : stage.events) {
    events.emplace_back(static_cast<double>(e.at) + 0.5, event_label(e));
  }
  // Regularizers keep their own settings; the stage's YAML says when each starts.
  try {
    const YAML::Node root = YAML::Load(stage.yaml);
    const YAML::Node list = root["regularizers"];
    if (list && list.IsSequence()) {
      for (const YAML::Node& r : list) {
        if (!r.IsMap() || !r["start_epoch"]) continue;
        const auto start = r["start_epoch"].as<int64_t>();
        const std::string type = r["type"] ? r["type"].as<std::string>() : "regularizer";
        if (start > 0) events.emplace_back(static_cast<double>(start) + 0.5, type + " starts");
      }
    }
  } catch (const YAML::Exception&) {
    // The YAML was checked when the run started; a stage without it just has no such markers.
  }
  return events;
}

ReportData collect_report_data(const std::string& run_dir) {
  ReportData d;
  d.run_dir = run_dir;
  if (!fs::is_directory(run_dir)) {
    throw std::runtime_error("report: '" + run_dir + "' is not a directory");
  }
  const std::string config_file = (fs::path(run_dir) / "config.yaml").string();
  if (!fs::exists(config_file)) {
    throw std::runtime_error("report: '" + config_file + "' does not exist: '" + run_dir +
                             "' is not a run directory written by `lowbit train`");
  }
  d.config_text = util::read_file(config_file);
  d.config = train::load_run_config(config_file);
  const std::string metrics = (fs::path(run_dir) / "metrics.csv").string();
  if (!fs::exists(metrics)) {
    throw std::runtime_error("report: '" + metrics + "' does not exist: no epoch has run yet");
  }
  d.curves = stage_curves(read_csv_table(metrics), metrics);
  const std::string results = (fs::path(run_dir) / "results.json").string();
  if (fs::exists(results)) {
    d.results = read_results(results);
  } else {
    d.notes.push_back("no results.json: the run has not finished a stage");
  }

  std::optional<train::StageData> data;
  for (const train::StageConfig& stage : d.config.stages) {
    const std::string best = (fs::path(train::stage_dir(run_dir, stage.name)) / "best.pt").string();
    if (!fs::exists(best)) {
      d.notes.push_back("stage '" + stage.name + "' has no checkpoint " + best +
                        ": no weights or predictions shown");
      continue;
    }
    if (!data) data = train::load_data(*d.config.data, d.config.seed);
    std::string export_error;
    for (const StageSummary& s : d.results) {
      if (s.stage == stage.name) export_error = s.export_error;
    }
    d.stages.push_back(analyse_stage(run_dir, d.config, *data, stage.name, export_error));
  }
  return d;
}

std::vector<std::string> write_pngs(const Report& report, const std::string& dir) {
  require_rsvg_convert();
  fs::create_directories(dir);
  std::vector<std::string> pngs;
  for (const Figure& f : report.figures) {
    const std::string svg = (fs::path(dir) / (f.name + ".svg")).string();
    const std::string png = (fs::path(dir) / (f.name + ".png")).string();
    util::write_text_atomically(svg, standalone_svg(f.svg));
    const std::string log = png + ".log";
    // Twice the SVG's size: sharp enough for papers and READMEs.
    const int status = util::run_shell("rsvg-convert --zoom 2 --background-color white -o " +
                                           util::shell_quote(png) + " " + util::shell_quote(svg),
                                       log);
    if (status != 0) {
      throw std::runtime_error("report: rsvg-convert could not render '" + svg +
                               "': " + util::read_log(log));
    }
    fs::remove(log);
    pngs.push_back(png);
  }
  return pngs;
}

void write_html(const std::string& path, const Report& report) {
  util::write_text_atomically(path, report.html);
}

std::string write_report(const std::string& run_dir, const std::string& out,
                         const std::string& png_dir) {
  if (!png_dir.empty()) require_rsvg_convert();
  const std::string path = out.empty() ? (fs::path(run_dir) / "report.html").string() : out;
  const Report report = render_report(collect_report_data(run_dir));
  write_html(path, report);
  if (!png_dir.empty()) write_pngs(report, png_dir);
  return path;
}

}  // namespace lowbit::report
