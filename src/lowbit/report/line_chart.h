// Line charts of per-epoch values (training curves): any number of series on a left axis and an
// optional right axis (the learning rate), with vertical markers for events (bit switches,
// freezes, the start of a regularizer).
#pragma once

#include <string>
#include <vector>

namespace lowbit::report {

/// One curve: y against x; NaN values leave a gap.
struct Series {
  std::string name;         ///< Legend text.
  std::vector<double> x;    ///< X values (epochs).
  std::vector<double> y;    ///< Y values, one per x.
  bool right_axis = false;  ///< Drawn against the right axis.
  bool dashed = false;      ///< Dashed line (e.g. the right-axis series).
};

/// A vertical line at x with a label (an event between two epochs).
struct EventMarker {
  double x = 0.0;     ///< Where it is drawn.
  std::string label;  ///< What happened.
};

/// A chart of series and events.
struct LineChart {
  std::string title;                ///< Drawn above the plot.
  std::string x_label = "epoch";    ///< X axis label.
  std::string y_label;              ///< Left axis label.
  std::string y2_label;             ///< Right axis label (shown when a series uses it).
  std::vector<Series> series;       ///< The curves, in legend order.
  std::vector<EventMarker> events;  ///< Vertical markers.
};

/// The chart as an SVG element: one `<polyline class="series" data-name=...>` per run of finite
/// points of a series, a dot per point when a series has at most 60, one
/// `<line class="event">` per marker.
std::string line_chart_svg(const LineChart& chart);

}  // namespace lowbit::report
