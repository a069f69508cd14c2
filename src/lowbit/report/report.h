// `lowbit report`: a run directory as one self-contained HTML page of plots and tables, built from
// what the run wrote (metrics.csv, results.json, config.yaml, each stage's best.pt), plus the same
// plots as PNG files on request.
#pragma once

#include <string>
#include <vector>

#include "lowbit/report/run_log.h"
#include "lowbit/report/stage_analysis.h"

namespace lowbit::report {

/// What a report is built from.
struct ReportData {
  std::string run_dir;                ///< The run directory.
  std::string config_text;            ///< Its config.yaml.
  train::RunConfig config;            ///< The parsed config.
  std::vector<StageCurves> curves;    ///< metrics.csv by stage.
  std::vector<StageSummary> results;  ///< results.json (empty when the run has none yet).
  std::vector<StageAnalysis> stages;  ///< Each stage with a best.pt, in config order.
  std::vector<std::string> notes;     ///< What could not be shown, and why.
};

/// Reads run directory `run_dir`: config.yaml and metrics.csv are required (std::runtime_error /
/// util::FileError naming the missing file), results.json and checkpoints are used when present.
/// Restores every stage with a best.pt (loading the run's data once).
ReportData collect_report_data(const std::string& run_dir);

/// One plot of the report.
struct Figure {
  std::string name;     ///< File-name stem for its PNG, e.g. "w4_curves_loss".
  std::string svg;      ///< The SVG element.
  std::string caption;  ///< What it shows.
};

/// The report: the page and its plots.
struct Report {
  std::string html;             ///< The whole page.
  std::vector<Figure> figures;  ///< Every plot on the page, in page order.
};

/// Builds the page; `bins` is the number of bins of the weight histograms.
Report render_report(const ReportData& data, int bins = 48);

/// The event markers of `stage`'s curves: epoch events at x = at + 0.5 (between the logged
/// epochs `at` and `at + 1`, since `at` is 0-based and metrics.csv counts from 1) and the start
/// of regularizers with a `start_epoch`.
std::vector<std::pair<double, std::string>> stage_events(const train::StageConfig& stage);

/// Writes `report.figures` into `dir` (created) as NAME.svg and NAME.png, the PNG rendered by
/// rsvg-convert (Debian package librsvg2-bin). Throws std::runtime_error naming the package when
/// rsvg-convert is not installed, and naming the file when a conversion fails. Returns the PNG
/// paths.
std::vector<std::string> write_pngs(const Report& report, const std::string& dir);

/// Writes `report.html` to `path` atomically (a failed write leaves an older file as it was).
void write_html(const std::string& path, const Report& report);

/// Collects, renders and writes the report of `run_dir` to `out` (default RUN_DIR/report.html),
/// and the PNGs into `png_dir` when it is not empty (checked for rsvg-convert before anything is
/// written). Returns the HTML path.
std::string write_report(const std::string& run_dir, const std::string& out = "",
                         const std::string& png_dir = "");

}  // namespace lowbit::report
