#include "lowbit/report/scatter_chart.h"

#include <algorithm>
#include <cmath>

#include "lowbit/report/svg.h"

namespace lowbit::report {

std::vector<size_t> pareto_front(const std::vector<ScatterPoint>& points, bool maximize_y) {
  auto finite = [](const ScatterPoint& p) { return std::isfinite(p.x) && std::isfinite(p.y); };
  auto better_y = [maximize_y](double a, double b) { return maximize_y ? a > b : a < b; };
  std::vector<size_t> front;
  for (size_t i = 0; i < points.size(); ++i) {
    if (!finite(points[i])) continue;
    bool dominated = false;
    for (size_t j = 0; j < points.size() && !dominated; ++j) {
      if (j == i || !finite(points[j])) continue;
      const ScatterPoint& a = points[j];
      const ScatterPoint& b = points[i];
      const bool no_worse = a.x <= b.x && !better_y(b.y, a.y);
      const bool strictly = a.x < b.x || better_y(a.y, b.y);
      dominated = no_worse && strictly;
    }
    if (!dominated) front.push_back(i);
  }
  std::stable_sort(front.begin(), front.end(),
                   [&](size_t a, size_t b) { return points[a].x < points[b].x; });
  return front;
}

std::string scatter_svg(const ScatterChart& chart) {
  Frame frame;
  frame.width = 420;
  frame.right = 28;
  std::vector<double> xs, ys;
  for (const ScatterPoint& p : chart.points) {
    xs.push_back(p.x);
    ys.push_back(p.y);
  }
  const Range xr = finite_range(xs, 0.08);
  const Range yr = finite_range(ys, 0.08);
  const Scale x{xr.lo, xr.hi, frame.x0(), frame.x1()};
  const Scale y{yr.lo, yr.hi, frame.y0(), frame.y1()};
  SvgBuilder svg(frame, "scatter", chart.title);
  draw_y_axis(svg, frame, y, chart.y_label, nice_ticks(yr.lo, yr.hi, 5));
  draw_x_axis(svg, frame, x, chart.x_label, nice_ticks(xr.lo, xr.hi, 5));

  const std::vector<size_t> front = pareto_front(chart.points, chart.maximize_y);
  std::vector<double> fx, fy;
  for (size_t i : front) {
    fx.push_back(x(chart.points[i].x));
    fy.push_back(y(chart.points[i].y));
  }
  if (fx.size() > 1) {
    svg.polyline(fx, fy, "#d62728",
                 "class=\"front\" stroke-width=\"1.5\" stroke-dasharray=\"5 3\"");
  }
  for (size_t i = 0; i < chart.points.size(); ++i) {
    const ScatterPoint& p = chart.points[i];
    if (!std::isfinite(p.x) || !std::isfinite(p.y)) continue;
    const bool on_front = std::find(front.begin(), front.end(), i) != front.end();
    svg.circle(x(p.x), y(p.y), on_front ? 5 : 4, on_front ? "#d62728" : "#1f77b4",
               std::string("class=\"point") + (on_front ? " front" : "") + "\" data-label=\"" +
                   xml_escape(p.label) + "\"");
    svg.text(x(p.x) + 7, y(p.y) - 6, p.label, "start", "font-size=\"10\"");
  }
  svg.text(frame.x1(), frame.y1() - 6, "red: Pareto front", "end",
           "font-size=\"10\" fill=\"#d62728\"");
  return svg.str();
}

}  // namespace lowbit::report
