// Stages side by side: a quality metric (accuracy, AUC, AEE) against a cost (bits, flash bytes),
// each stage a labelled point, the Pareto front (no other stage is both cheaper and better)
// highlighted.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace lowbit::report {

/// One stage: its cost, its quality and its name.
struct ScatterPoint {
  double x = 0.0;     ///< Cost (smaller is better).
  double y = 0.0;     ///< Quality.
  std::string label;  ///< Drawn beside the point.
};

/// The indices of the points on the Pareto front, sorted by x: those that no other point
/// dominates (x no larger and y no worse, one of them strictly). Larger y is better unless
/// `maximize_y` is false. Points with a non-finite coordinate are never on it.
std::vector<size_t> pareto_front(const std::vector<ScatterPoint>& points, bool maximize_y = true);

/// A scatter chart.
struct ScatterChart {
  std::string title;                 ///< Drawn above the plot.
  std::string x_label;               ///< X axis label (the cost).
  std::string y_label;               ///< Y axis label (the quality).
  std::vector<ScatterPoint> points;  ///< The stages.
  bool maximize_y = true;            ///< Whether larger y is better.
};

/// The chart as an SVG element: one `<circle class="point">` per finite point (class
/// "point front" on the front) and a `<polyline class="front">` through the front.
std::string scatter_svg(const ScatterChart& chart);

}  // namespace lowbit::report
