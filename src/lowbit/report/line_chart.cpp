#include "lowbit/report/line_chart.h"

#include <algorithm>
#include <cmath>

#include "lowbit/report/svg.h"

namespace lowbit::report {

std::string line_chart_svg(const LineChart& chart) {
  bool has_right = false;
  std::vector<double> xs, left, right;
  for (const Series& s : chart.series) {
    xs.insert(xs.end(), s.x.begin(), s.x.end());
    (s.right_axis ? right : left)
        .insert((s.right_axis ? right : left).end(), s.y.begin(), s.y.end());
    has_right = has_right || s.right_axis;
  }
  for (const EventMarker& e : chart.events) xs.push_back(e.x);
  Frame frame;
  frame.width = 600;
  frame.top = 52;
  if (has_right) frame.right = 64;
  const Range xr = finite_range(xs);
  const Range lr = finite_range(left, 0.05);
  const Range rr = finite_range(right, 0.05);
  const Scale x{xr.lo, xr.hi, frame.x0(), frame.x1()};
  const Scale yl{lr.lo, lr.hi, frame.y0(), frame.y1()};
  const Scale yr{rr.lo, rr.hi, frame.y0(), frame.y1()};

  SvgBuilder svg(frame, "line-chart", chart.title);
  draw_y_axis(svg, frame, yl, chart.y_label, nice_ticks(lr.lo, lr.hi, 5));
  if (has_right) draw_y_axis(svg, frame, yr, chart.y2_label, nice_ticks(rr.lo, rr.hi, 5), true);
  std::vector<double> xticks = nice_ticks(xr.lo, xr.hi, 8);
  draw_x_axis(svg, frame, x, chart.x_label, xticks);

  for (const EventMarker& e : chart.events) {
    const double px = x(e.x);
    svg.line(px, frame.y1(), px, frame.y0(), "#7f7f7f",
             "class=\"event\" stroke-dasharray=\"4 3\" data-x=\"" + short_number(e.x) + "\"");
    svg.text(px + 3, frame.y1() + 10, e.label, "start", "font-size=\"10\" fill=\"#555555\"");
  }

  double legend_x = frame.x0();
  for (size_t i = 0; i < chart.series.size(); ++i) {
    const Series& s = chart.series[i];
    const Scale& y = s.right_axis ? yr : yl;
    const std::string colour = palette(i);
    const std::string style = std::string("stroke-width=\"1.8\"") +
                              (s.dashed ? " stroke-dasharray=\"6 3\"" : "") +
                              " class=\"series\" data-name=\"" + xml_escape(s.name) + "\"";
    std::vector<double> px, py;
    auto flush = [&] {
      if (!px.empty()) svg.polyline(px, py, colour, style);
      px.clear();
      py.clear();
    };
    const size_t n = std::min(s.x.size(), s.y.size());
    for (size_t k = 0; k < n; ++k) {
      if (!std::isfinite(s.y[k]) || !std::isfinite(s.x[k])) {
        flush();
        continue;
      }
      px.push_back(x(s.x[k]));
      py.push_back(y(s.y[k]));
      if (n <= 60) svg.circle(px.back(), py.back(), 2.2, colour);
    }
    flush();
    // The legend runs along the top, one entry per series.
    svg.line(legend_x, 32, legend_x + 16, 32, colour,
             std::string("stroke-width=\"2\"") + (s.dashed ? " stroke-dasharray=\"6 3\"" : ""));
    const std::string label = s.name + (s.right_axis && has_right ? " (right)" : "");
    svg.text(legend_x + 20, 36, label);
    legend_x += 28 + 6.2 * static_cast<double>(label.size());
  }
  return svg.str();
}

}  // namespace lowbit::report
