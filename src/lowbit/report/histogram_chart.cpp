#include "lowbit/report/histogram_chart.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "lowbit/report/svg.h"

namespace lowbit::report {

HistogramData histogram(const std::vector<float>& values, int bins, double lo, double hi) {
  if (bins < 1 || !(lo < hi)) {
    throw std::invalid_argument("histogram: need at least one bin and lo < hi");
  }
  HistogramData h;
  h.counts.assign(static_cast<size_t>(bins), 0);
  const double width = (hi - lo) / bins;
  for (int i = 0; i <= bins; ++i) h.edges.push_back(i == bins ? hi : lo + width * i);
  for (float value : values) {
    const double v = value;
    if (!std::isfinite(v) || v < lo || v > hi) continue;
    auto bin = static_cast<int64_t>(std::floor((v - lo) / width));
    bin = std::clamp<int64_t>(bin, 0, bins - 1);
    // Floating-point rounding of the division must not move a value across an edge.
    while (bin > 0 && v < h.edges[static_cast<size_t>(bin)]) --bin;
    while (bin < bins - 1 && v >= h.edges[static_cast<size_t>(bin) + 1]) ++bin;
    ++h.counts[static_cast<size_t>(bin)];
  }
  return h;
}

std::string histogram_svg(const HistogramChart& chart) {
  Frame frame;
  frame.width = 420;
  frame.right = 16;
  const HistogramData& d = chart.data;
  std::vector<double> xs = d.edges;
  for (double level : chart.levels) xs.push_back(level);
  xs.push_back(chart.clip_low);
  xs.push_back(chart.clip_high);
  const Range xr = finite_range(xs, 0.02);
  int64_t top = 1;
  for (int64_t c : d.counts) top = std::max(top, c);
  const Scale x{xr.lo, xr.hi, frame.x0(), frame.x1()};
  const Scale y{0.0, static_cast<double>(top) * 1.05, frame.y0(), frame.y1()};
  SvgBuilder svg(frame, "histogram", chart.title);
  draw_y_axis(svg, frame, y, chart.y_label, nice_ticks(0.0, static_cast<double>(top), 4));
  draw_x_axis(svg, frame, x, chart.x_label, nice_ticks(xr.lo, xr.hi, 6));
  for (size_t i = 0; i < d.counts.size() && i + 1 < d.edges.size(); ++i) {
    const double left = x(d.edges[i]);
    const double w = std::max(0.5, x(d.edges[i + 1]) - left - 0.5);
    const double h = frame.y0() - y(static_cast<double>(d.counts[i]));
    svg.rect(left, frame.y0() - h, w, h, "#7fa7cf",
             "class=\"bar\" data-count=\"" + std::to_string(d.counts[i]) + "\"");
  }
  for (double level : chart.levels) {
    svg.line(x(level), frame.y0(), x(level), frame.y1(), "#2ca02c",
             "class=\"level\" stroke-width=\"0.8\" stroke-opacity=\"0.8\"");
  }
  for (double clip : {chart.clip_low, chart.clip_high}) {
    if (!std::isfinite(clip)) continue;
    svg.line(x(clip), frame.y0(), x(clip), frame.y1(), "#d62728",
             "class=\"clip\" stroke-width=\"1.5\" stroke-dasharray=\"5 3\"");
  }
  if (!chart.levels.empty() || std::isfinite(chart.clip_high)) {
    svg.text(frame.x1(), frame.y1() - 6, "green: levels  red: clipping", "end",
             "font-size=\"10\" fill=\"#555555\"");
  }
  return svg.str();
}

}  // namespace lowbit::report
