// render_report: the page of a run, section by section (declared in report.h).
#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>

#include "lowbit/report/heat_map.h"
#include "lowbit/report/histogram_chart.h"
#include "lowbit/report/html_page.h"
#include "lowbit/report/image_chart.h"
#include "lowbit/report/line_chart.h"
#include "lowbit/report/report.h"
#include "lowbit/report/roc_curve.h"
#include "lowbit/report/scatter_chart.h"
#include "lowbit/report/svg.h"
#include "lowbit/train/report/csv_log.h"
#include "lowbit/train/report/flow_color.h"

namespace lowbit::report {
namespace {

// A file-name stem from stage and layer names.
std::string safe_name(const std::string& text) {
  std::string out;
  for (char c : text) out += std::isalnum(static_cast<unsigned char>(c)) || c == '-' ? c : '_';
  return out;
}

bool any_finite(const std::vector<double>& values) {
  return std::any_of(values.begin(), values.end(), [](double v) { return std::isfinite(v); });
}

std::string cell(double value, int digits = 6) {
  return std::isfinite(value) ? train::format_number(value, digits) : "-";
}

/// Collects figures while it writes them into the page.
class Builder {
 public:
  Builder(HtmlPage& page, std::vector<Figure>& figures) : page_(page), figures_(figures) {}
  void add(const std::string& name, const std::string& svg, const std::string& caption) {
    page_.figure(svg, caption);
    figures_.push_back({safe_name(name), svg, caption});
  }

 private:
  HtmlPage& page_;
  std::vector<Figure>& figures_;
};

void curves_section(const ReportData& d, HtmlPage& page, Builder& b) {
  page.heading(2, "Training curves", "curves");
  page.paragraph(
      "Per stage and epoch as metrics.csv logs them; the learning rate (dashed) on the right "
      "axis; dashed grey lines mark events at the start of the epoch after them.");
  static const std::set<std::string> kNotMetrics = {"lr", "train_loss", "val_loss", "seconds"};
  for (const StageCurves& c : d.curves) {
    LineChart loss{"'" + c.stage + "': loss", "epoch", "loss", "learning rate", {}, {}};
    LineChart metrics{"'" + c.stage + "': metrics", "epoch", "metric", "learning rate", {}, {}};
    for (const char* name : {"train_loss", "val_loss"}) {
      const auto it = c.columns.find(name);
      if (it != c.columns.end() && any_finite(it->second)) {
        loss.series.push_back({name, c.epochs, it->second});
      }
    }
    for (const auto& [name, values] : c.columns) {
      if (kNotMetrics.count(name) == 0 && any_finite(values)) {
        metrics.series.push_back({name, c.epochs, values});
      }
    }
    const auto lr = c.columns.find("lr");
    for (LineChart* chart : {&loss, &metrics}) {
      if (lr != c.columns.end() && any_finite(lr->second)) {
        chart->series.push_back({"lr", c.epochs, lr->second, true, true});
      }
      for (const train::StageConfig& s : d.config.stages) {
        if (s.name != c.stage) continue;
        for (const auto& [x, label] : stage_events(s)) chart->events.push_back({x, label});
      }
    }
    page.begin_row();
    b.add(c.stage + "_loss", line_chart_svg(loss), "Stage '" + c.stage + "': loss per epoch");
    if (metrics.series.size() > 1 ||
        (metrics.series.size() == 1 && !metrics.series[0].right_axis)) {
      b.add(c.stage + "_metrics", line_chart_svg(metrics),
            "Stage '" + c.stage + "': metrics per epoch");
    }
    page.end_row();
  }
}

void stages_section(const ReportData& d, HtmlPage& page, Builder& b) {
  if (d.results.empty()) return;
  page.heading(2, "Stages side by side", "stages");
  // The quality axis: accuracy where the task has it, else the AUC, else (flow) the AEE, where
  // smaller is better.
  bool has_accuracy = false, has_auc = false;
  for (const StageSummary& s : d.results) {
    has_accuracy = has_accuracy || std::isfinite(s.accuracy);
    has_auc = has_auc || std::isfinite(s.auc);
  }
  const bool aee = !has_accuracy && !has_auc;
  const std::string metric = has_accuracy ? "accuracy" : has_auc ? "AUC" : "AEE";
  ScatterChart by_bits{
      metric + " against weight bits", "weight bits per parameter", metric, {}, !aee};
  ScatterChart by_flash{metric + " against flash bytes", "flash bytes", metric, {}, !aee};
  for (const StageSummary& s : d.results) {
    const double q = has_accuracy ? s.accuracy : has_auc ? s.auc : s.aee;
    by_bits.points.push_back({s.mean_bits, q, s.stage});
    by_flash.points.push_back({s.flash_bytes, q, s.stage});
  }
  page.begin_row();
  b.add("stages_bits", scatter_svg(by_bits),
        "Test " + metric + " of each stage against its mean weight bits; red: the Pareto front");
  b.add("stages_flash", scatter_svg(by_flash),
        "Test " + metric + " against flash bytes (integer model, else 4 bytes per parameter)");
  page.end_row();
  page.heading(3, "Results");
  std::vector<std::vector<std::string>> rows;
  for (const StageSummary& s : d.results) {
    rows.push_back({s.stage, s.bits, cell(s.accuracy), cell(s.auc), cell(s.aee), cell(s.loss),
                    cell(s.weight_bytes, 12), cell(s.flash_bytes, 12), s.flash_form,
                    cell(s.macs, 12), s.export_error.empty() ? "yes" : s.export_error});
  }
  page.table({"stage", "bits", "accuracy", "auc", "AEE", "loss", "weight bytes", "flash bytes",
              "flash form", "MACs", "integer model"},
             rows);
}

void weights_section(const StageAnalysis& a, int bins, HtmlPage& page, Builder& b) {
  page.heading(3, "Weights");
  page.begin_row();
  for (const LayerWeightData& w : a.layers) {
    std::vector<double> range(w.values.begin(), w.values.end());
    range.push_back(w.clip_low);
    range.push_back(w.clip_high);
    const Range r = finite_range(range);
    HistogramChart h;
    h.title = "'" + a.stage + "' " + w.layer + ": latent weights";
    h.x_label = "weight";
    h.data = histogram(w.values, bins, r.lo, r.hi);
    // More lines than bins would hide the bars; wide grids show their clipping only.
    if (w.levels.size() <= 32) h.levels = w.levels;
    h.clip_low = w.clip_low;
    h.clip_high = w.clip_high;
    std::string caption = w.layer + ": " + std::to_string(w.values.size()) + " weights";
    if (w.spec.empty()) {
      caption += ", not quantized";
    } else {
      caption += ", " + w.spec + ", " + std::to_string(w.levels.size()) + " levels" +
                 (w.levels.size() > 32 ? " (not drawn)" : "") + ", clipping at " +
                 short_number(w.clip_low) + " / " + short_number(w.clip_high);
      if (w.channels > 0) {
        caption += "; per-channel grid: levels of channel " + std::to_string(w.channel) + " of " +
                   std::to_string(w.channels) + " (the widest) shown";
      }
    }
    b.add(a.stage + "_" + w.layer + "_weights", histogram_svg(h), caption);
    if (w.codes.empty()) continue;
    HistogramChart codes;
    codes.title = "'" + a.stage + "' " + w.layer + ": weights per level";
    codes.x_label = "integer code";
    codes.y_label = "weights";
    for (size_t i = 0; i < w.codes.size(); ++i) {
      codes.data.edges.push_back(static_cast<double>(w.codes[i]) - 0.4);
      codes.data.edges.push_back(static_cast<double>(w.codes[i]) + 0.4);
      codes.data.counts.push_back(w.code_counts[i]);
      if (i + 1 < w.codes.size()) codes.data.counts.push_back(0);  // the gap between two bars
    }
    std::string shares;
    if (w.codes.size() <= 16) {
      for (size_t i = 0; i < w.codes.size(); ++i) {
        shares += (i ? ", " : ": ") + std::to_string(w.codes[i]) + " " +
                  train::format_number(100.0 * static_cast<double>(w.code_counts[i]) /
                                           static_cast<double>(w.values.size()),
                                       3) +
                  "%";
      }
    }
    b.add(a.stage + "_" + w.layer + "_levels", histogram_svg(codes),
          w.layer + ": share of weights per level" + shares + "; entropy " +
              train::format_number(w.entropy, 3) + " bits per weight (" + std::to_string(w.bits) +
              " stored)");
  }
  page.end_row();
}

void flow_section(const StageAnalysis& a, HtmlPage& page, Builder& b) {
  const Predictions& p = a.predictions;
  page.heading(3, "Flow on the " + p.set + " set");
  page.begin_row();
  for (size_t i = 0; i < p.flow_images.size(); ++i) {
    const torch::Tensor& image = p.flow_images[i];
    // Small event frames are enlarged to about 480 pixels across, whole pixels each.
    const double zoom = std::max(1.0, std::floor(480.0 / static_cast<double>(image.size(1))));
    const std::string sample = std::to_string(p.flow_samples[i]);
    b.add(a.stage + "_flow_" + sample,
          image_svg(image, "'" + a.stage + "': " + p.set + " sample " + sample, zoom, "predicted",
                    "true"),
          "Sample " + sample +
              ": predicted (left) and true (right) flow in the colour-wheel "
              "coding, one colour scale for both; black: no ground truth");
  }
  b.add(a.stage + "_flow_legend", image_svg(train::colour_wheel_legend(96), "colour wheel", 1.0),
        "Direction is hue (right red, down yellow, left cyan-blue, up violet); white: no motion, "
        "full colour: the largest true magnitude");
  page.end_row();
}

void predictions_section(const StageAnalysis& a, HtmlPage& page, Builder& b) {
  const Predictions& p = a.predictions;
  if (!p.flow_images.empty()) flow_section(a, page, b);
  if (p.classes == 0 && !p.binary) return;
  page.heading(3, "Predictions on the " + p.set + " set");
  page.begin_row();
  if (p.classes > 0 && p.classes <= 32) {
    HeatMap m;
    m.title = "'" + a.stage + "': confusion matrix (" + p.set + ")";
    for (int64_t c = 0; c < p.classes; ++c) m.labels.push_back(std::to_string(c));
    m.cells = p.confusion;
    int64_t correct = 0, total = 0;
    for (size_t r = 0; r < m.cells.size(); ++r) {
      for (size_t c = 0; c < m.cells[r].size(); ++c) {
        total += m.cells[r][c];
        if (r == c) correct += m.cells[r][c];
      }
    }
    b.add(a.stage + "_confusion", heat_map_svg(m),
          "Rows: true class, columns: predicted; shade: share of the row; accuracy " +
              train::format_number(total ? static_cast<double>(correct) / total : NAN, 4));
  }
  if (p.binary) {
    try {
      const std::vector<RocPoint> roc = roc_curve(p.scores, p.labels);
      const double auc = roc_area(roc);
      b.add(a.stage + "_roc", roc_svg(roc, auc, "'" + a.stage + "': ROC (" + p.set + ")"),
            "ROC curve of the positive-class score, " + std::to_string(roc.size()) +
                " points; AUC " + train::format_number(auc, 5));
    } catch (const std::invalid_argument& e) {
      page.paragraph(std::string("No ROC curve: ") + e.what());
    }
  }
  page.end_row();
}

void cost_section(const StageAnalysis& a, HtmlPage& page) {
  if (!a.cost) {
    if (!a.no_cost.empty()) page.paragraph("No integer model: " + a.no_cost);
    return;
  }
  page.heading(3, "Integer model: size and MACs");
  std::vector<std::vector<std::string>> rows;
  for (size_t i = 0; i < a.cost->layers.size(); ++i) {
    const exporter::LayerCost& c = a.cost->layers[i];
    rows.push_back({c.name, i < a.cost_ops.size() ? a.cost_ops[i] : "",
                    std::to_string(c.weight_bytes), std::to_string(c.bias_bytes),
                    std::to_string(c.requant_bytes), std::to_string(c.flash_bytes()),
                    std::to_string(c.output_bytes), std::to_string(c.macs)});
  }
  rows.push_back({"total", "", "", "", "", std::to_string(a.cost->flash_bytes),
                  std::to_string(a.cost->scratch_bytes) + " scratch",
                  std::to_string(a.cost->macs)});
  page.table({"layer", "op", "weight B", "bias B", "requant B", "flash B", "output RAM B", "MACs"},
             rows);
}

}  // namespace

Report render_report(const ReportData& d, int bins) {
  Report report;
  HtmlPage page("lowbit report: " + d.run_dir);
  Builder b(page, report.figures);
  page.paragraph("Run directory " + d.run_dir + ", " + std::to_string(d.config.stages.size()) +
                 " stage(s). Written by `lowbit report`; every plot is inline SVG.");
  for (const std::string& note : d.notes) page.paragraph("Note: " + note);
  curves_section(d, page, b);
  stages_section(d, page, b);
  for (const StageAnalysis& a : d.stages) {
    page.heading(2, "Stage '" + a.stage + "'", "stage-" + safe_name(a.stage));
    weights_section(a, bins, page, b);
    predictions_section(a, page, b);
    cost_section(a, page);
  }
  page.heading(2, "Config", "config");
  page.preformatted(d.config_text);
  report.html = page.str();
  return report;
}

}  // namespace lowbit::report
