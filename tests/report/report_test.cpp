// The report of a small trained run: its data equals what metrics.csv, results.json and the
// checkpoints hold, and the page is well formed and self-contained.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "lowbit/report/histogram_chart.h"
#include "lowbit/report/html_page.h"
#include "lowbit/report/report.h"
#include "lowbit/report/roc_curve.h"
#include "lowbit/train/checkpoint/checkpoint.h"
#include "lowbit/train/data_source.h"
#include "lowbit/train/report/flow_color.h"
#include "lowbit/train/report/metrics.h"
#include "report/html_check.h"
#include "report/trained_run.h"

namespace lowbit::report {
namespace {

using cli::testing::exists;
using cli::testing::run_lowbit;
using testing::trained_run;

// The cells of metrics.csv split at commas (its numbers and stage names hold none).
std::vector<std::vector<std::string>> metrics_rows(const std::string& path) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(util::read_file(path));
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> cells;
    std::istringstream row(line);
    for (std::string cell; std::getline(row, cell, ',');) cells.push_back(cell);
    if (line.back() == ',') cells.push_back("");
    rows.push_back(cells);
  }
  return rows;
}

const ReportData& data() {
  static const ReportData d = collect_report_data(trained_run());
  return d;
}

const StageAnalysis& stage(const std::string& name) {
  for (const StageAnalysis& a : data().stages) {
    if (a.stage == name) return a;
  }
  throw std::runtime_error("no stage " + name);
}

TEST(Report, CurvesAreMetricsCsvColumnForColumn) {
  const std::string run = trained_run();
  ASSERT_FALSE(run.empty());
  const auto rows = metrics_rows(run + "/metrics.csv");
  ASSERT_EQ(rows.size(), 7u);  // header + 3 + 3 epochs
  const auto& header = rows[0];
  ASSERT_EQ(data().curves.size(), 2u);
  std::map<std::string, size_t> seen;
  for (size_t r = 1; r < rows.size(); ++r) {
    const std::string& name = rows[r][0];
    const size_t i = seen[name]++;
    const StageCurves* curves = nullptr;
    for (const auto& c : data().curves) {
      if (c.stage == name) curves = &c;
    }
    ASSERT_NE(curves, nullptr) << name;
    EXPECT_EQ(curves->epochs[i], std::stod(rows[r][1]));
    for (size_t col = 2; col < header.size(); ++col) {
      const double got = curves->columns.at(header[col])[i];
      if (rows[r][col].empty()) {
        EXPECT_TRUE(std::isnan(got)) << header[col];
      } else {
        EXPECT_EQ(got, std::stod(rows[r][col])) << name << " " << header[col] << " row " << r;
      }
    }
  }
  EXPECT_EQ(seen["fp"], 3u);
  EXPECT_EQ(seen["w4"], 3u);
}

TEST(Report, EventsAreMarkedBetweenTheLoggedEpochs) {
  const auto events = stage_events(data().config.stage("w4"));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].first, 2.5);  // at: 2 fires before logged epoch 3
  EXPECT_EQ(events[0].second, "2 bits weights");
  const Report r = render_report(data());
  const Figure* loss = nullptr;
  for (const Figure& f : r.figures) {
    if (f.name == "w4_loss") loss = &f;
  }
  ASSERT_NE(loss, nullptr);
  EXPECT_NE(loss->svg.find("class=\"event\""), std::string::npos);
  EXPECT_NE(loss->svg.find("data-name=\"val_loss\""), std::string::npos);
  EXPECT_NE(loss->svg.find("data-name=\"lr\""), std::string::npos);
}

TEST(Report, WeightsAndTheirCodesAreTheCheckpointsTensors) {
  const std::string run = trained_run();
  ASSERT_FALSE(run.empty());
  const train::Checkpoint best = train::load_checkpoint(run + "/w4/best.pt");
  EXPECT_EQ(best.epoch, 2);  // the bit switch restarted best-checkpoint selection
  const StageAnalysis& w4 = stage("w4");
  ASSERT_EQ(w4.layers.size(), 3u);
  for (const LayerWeightData& layer : w4.layers) {
    const torch::Tensor saved = best.model[layer.layer + ".weight"].reshape({-1});
    ASSERT_EQ(static_cast<int64_t>(layer.values.size()), saved.numel()) << layer.layer;
    for (int64_t i = 0; i < saved.numel(); ++i) {
      ASSERT_EQ(layer.values[static_cast<size_t>(i)], saved[i].item<float>()) << layer.layer;
    }
    EXPECT_EQ(layer.bits, 2) << layer.layer;  // after the set_bits event
    int64_t on_codes = 0;
    for (int64_t c : layer.code_counts) on_codes += c;
    EXPECT_EQ(on_codes, saved.numel());
    EXPECT_GT(layer.entropy, 0.0);
    EXPECT_LE(layer.entropy, 2.0);
    EXPECT_EQ(layer.clip_low, layer.levels.front());
    EXPECT_EQ(layer.clip_high, layer.levels.back());
    // Every dequantized weight lies on the grid, inside the clipping values.
    EXPECT_GE(layer.levels.size(), 3u);
    EXPECT_LE(layer.levels.size(), 4u);
  }
  EXPECT_EQ(w4.layers[0].channels, 0);        // fc1: per tensor
  EXPECT_EQ(w4.layers[1].channels, 6);        // fc2: per channel, 6 outputs
  EXPECT_EQ(w4.layers[1].levels.size(), 3u);  // narrow 2-bit grid

  // The histogram's counts are the checkpoint's values counted bin by bin.
  const LayerWeightData& fc1 = w4.layers[0];
  const HistogramData h = histogram(fc1.values, 16, fc1.clip_low - 1.0, fc1.clip_high + 1.0);
  int64_t total = 0;
  const torch::Tensor saved = best.model["fc1.weight"].reshape({-1});
  for (size_t b = 0; b < h.counts.size(); ++b) {
    const bool last = b + 1 == h.counts.size();
    const torch::Tensor in =
        (saved >= h.edges[b]) & (last ? saved <= h.edges[b + 1] : saved < h.edges[b + 1]);
    EXPECT_EQ(h.counts[b], in.sum().item<int64_t>()) << "bin " << b;
    total += h.counts[b];
  }
  EXPECT_EQ(total, saved.numel());
}

TEST(Report, RocAndConfusionMatrixReproduceTheResults) {
  ASSERT_EQ(data().results.size(), 2u);
  for (const StageSummary& s : data().results) {
    const Predictions& p = stage(s.stage).predictions;
    ASSERT_TRUE(p.binary);
    EXPECT_EQ(p.set, "test");
    EXPECT_EQ(p.scores.size(), 100u);  // 25% of 400
    const double area = roc_area(roc_curve(p.scores, p.labels));
    EXPECT_NEAR(area, s.auc, 1e-9) << s.stage;
    ASSERT_EQ(p.classes, 2);
    const int64_t correct = p.confusion[0][0] + p.confusion[1][1];
    const int64_t total = correct + p.confusion[0][1] + p.confusion[1][0];
    EXPECT_EQ(total, 100);
    EXPECT_NEAR(static_cast<double>(correct) / static_cast<double>(total), s.accuracy, 1e-12);
  }
}

TEST(Report, ExportedStageHasItsSizeTable) {
  const StageAnalysis& w4 = stage("w4");
  ASSERT_TRUE(w4.cost.has_value()) << w4.no_cost;
  for (const StageSummary& s : data().results) {
    if (s.stage == "w4") {
      EXPECT_EQ(static_cast<double>(w4.cost->flash_bytes), s.flash_bytes);
      EXPECT_EQ(static_cast<double>(w4.cost->macs), s.macs);
    }
  }
  EXPECT_FALSE(stage("fp").cost.has_value());
  EXPECT_NE(stage("fp").no_cost.find("it trains in full precision"), std::string::npos)
      << stage("fp").no_cost;
}

TEST(Report, PageIsWellFormedAndSelfContained) {
  const Report r = render_report(data());
  EXPECT_EQ(testing::html_problem(r.html), "");
  EXPECT_EQ(testing::external_reference(r.html), "");
  // curves (2 per stage), 2 scatter, 3 layers x 2 in w4, 3 in fp, confusion + ROC per stage
  EXPECT_EQ(r.figures.size(), 4u + 2u + 6u + 3u + 4u);
  for (const Figure& f : r.figures) {
    EXPECT_NE(r.html.find(f.svg), std::string::npos) << f.name;
    EXPECT_EQ(testing::html_problem(f.svg), "") << f.name;
  }
  EXPECT_NE(r.html.find("<pre>output: "), std::string::npos);  // the config
  EXPECT_NE(r.html.find("it trains in full precision"), std::string::npos);
}

TEST(Report, TrainWritesItAndReportCommandRewritesIt) {
  const std::string run = trained_run();
  ASSERT_FALSE(run.empty());
  ASSERT_TRUE(exists(run + "/report.html"));
  const std::string out = testing::run_folder() / "again.html";
  const auto r = run_lowbit("report '" + run + "' --out '" + out + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "report: " + out + "\n");
  EXPECT_EQ(util::read_file(out), util::read_file(run + "/report.html"));
}

TEST(Report, PngsOfEveryPlot) {
  const std::string run = trained_run();
  ASSERT_FALSE(run.empty());
  const std::string dir = testing::run_folder() / "png";
  const auto r = run_lowbit("report '" + run + "' --out '" + dir + ".html' --png '" + dir + "'");
  if (r.code != 0 && r.err.find("librsvg2-bin") != std::string::npos) {
    GTEST_SKIP() << "rsvg-convert is not installed (apt-get install librsvg2-bin): " << r.err;
  }
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("png: 19 plots in"), std::string::npos) << r.out;
  const std::string png = util::read_file(dir + "/w4_roc.png");
  ASSERT_GT(png.size(), 1000u);
  EXPECT_EQ(png.substr(1, 3), "PNG");
  EXPECT_EQ(util::read_file(dir + "/w4_roc.svg").rfind("<?xml", 0), 0u);
}

TEST(Report, BadRunDirectoriesAreClearErrors) {
  const auto missing = run_lowbit("report '" + (testing::run_folder() / "nope") + "'");
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.err.find("is not a directory"), std::string::npos) << missing.err;
  const auto not_run = run_lowbit("report '" + testing::run_folder().path() + "'");
  EXPECT_EQ(not_run.code, 1);
  EXPECT_NE(not_run.err.find("config.yaml' does not exist"), std::string::npos) << not_run.err;
  EXPECT_FALSE(exists(testing::run_folder() / "report.html"));
}

TEST(Report, FlowRunsShowFlowImagesAndAee) {
  const std::string run = testing::run_folder() / "flow";
  util::write_text_atomically(testing::run_folder() / "flow.yaml",
                              cli::testing::small_flow_run_config(run));
  const auto r = run_lowbit("train '" + (testing::run_folder() / "flow.yaml") + "' --no-report");
  ASSERT_EQ(r.code, 0) << r.err << r.out;
  EXPECT_FALSE(exists(run + "/report.html"));
  EXPECT_EQ(r.out.find("report: "), std::string::npos);

  const ReportData d = collect_report_data(run);
  ASSERT_EQ(d.stages.size(), 1u);
  const Predictions& p = d.stages[0].predictions;
  EXPECT_FALSE(p.binary);
  EXPECT_EQ(p.classes, 0);
  ASSERT_EQ(p.flow_images.size(), 3u);  // the first 3 of 4 test samples
  // The right half of each image is the data set's true flow in the wheel's colours.
  const train::StageData data = train::load_data(*d.config.data, d.config.seed);
  for (size_t i = 0; i < p.flow_images.size(); ++i) {
    const torch::Tensor& image = p.flow_images[i];
    ASSERT_EQ(image.sizes(), (std::vector<int64_t>{16, 2 * 24 + train::kComparisonGap, 3}));
    const torch::Tensor truth = data.test.targets[static_cast<int64_t>(i)];
    const torch::Tensor uv = truth.slice(0, 0, 2), valid = truth[2];
    const torch::Tensor expected =
        train::flow_to_rgb(uv, train::max_flow_magnitude(uv, valid), valid);
    EXPECT_TRUE(torch::equal(image.slice(1, 24 + train::kComparisonGap), expected)) << i;
  }
  EXPECT_TRUE(std::isfinite(d.results.at(0).aee));
  EXPECT_EQ(d.curves.at(0).columns.count("val_aee"), 1u);

  const Report page = render_report(d);
  std::set<std::string> names;
  for (const Figure& f : page.figures) names.insert(f.name);
  for (const char* name : {"fp_flow_0", "fp_flow_1", "fp_flow_2", "fp_flow_legend"}) {
    EXPECT_EQ(names.count(name), 1u) << name;  // 3 samples and the legend
  }
  EXPECT_EQ(names.count("fp_flow_3"), 0u);
  EXPECT_NE(page.html.find("AEE against weight bits"), std::string::npos);
  EXPECT_NE(page.html.find("data-name=\"val_aee\""), std::string::npos);
  EXPECT_EQ(testing::html_problem(page.html), "");
  EXPECT_EQ(testing::external_reference(page.html), "");
}

TEST(HtmlPage, EscapesEverythingItIsGiven) {
  HtmlPage page("a <b> & c");
  page.paragraph("<img src=x onerror=alert(1)>");
  page.table({"<th>"}, {{"</td><script>"}});
  page.preformatted("</pre><a href=\"page.html\">");
  const std::string html = page.str();
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_EQ(html.find("<a "), std::string::npos);
  EXPECT_EQ(html.find("<script>"), html.find("<script>\n(function"));  // only the render check
  EXPECT_EQ(testing::html_problem(html), "");
  EXPECT_EQ(testing::external_reference(html), "");
}

}  // namespace
}  // namespace lowbit::report
