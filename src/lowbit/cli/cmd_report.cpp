// `lowbit report RUN_DIR [--out FILE.html] [--png DIR] [--bins N]`: the run as one
// self-contained HTML page of plots and tables (src/lowbit/report/, docs/report.md).
#include <iostream>
#include <memory>
#include <string>

#include "lowbit/cli/commands.h"
#include "lowbit/report/report.h"

namespace lowbit::cli {
namespace {

/// What the command line asked for.
struct ReportOptions {
  std::string run_dir;
  std::string out;
  std::string png_dir;
  int bins = 48;
};

void run_report(const ReportOptions& o) {
  const report::Report page = report::render_report(report::collect_report_data(o.run_dir), o.bins);
  const std::string out = o.out.empty() ? o.run_dir + "/report.html" : o.out;
  if (!o.png_dir.empty()) {
    const auto pngs = report::write_pngs(page, o.png_dir);
    std::cout << "png: " << pngs.size() << " plots in " << o.png_dir << "\n";
  }
  report::write_html(out, page);
  std::cout << "report: " << out << "\n";
}

}  // namespace

void add_report_command(CLI::App& app) {
  auto o = std::make_shared<ReportOptions>();
  CLI::App* cmd = app.add_subcommand(
      "report", "Write a run's plots and tables as one self-contained HTML file (docs/report.md)");
  cmd->add_option("run", o->run_dir, "Run directory written by `lowbit train`")->required();
  cmd->add_option("--out", o->out, "HTML file to write (default: RUN/report.html)");
  cmd->add_option("--png", o->png_dir,
                  "Also write every plot as NAME.svg and NAME.png into this folder (needs "
                  "rsvg-convert, Debian package librsvg2-bin)");
  cmd->add_option("--bins", o->bins, "Bins of the weight histograms")->check(CLI::Range(4, 1000));
  cmd->callback([o] { run_report(*o); });
}

}  // namespace lowbit::cli
