#include "lowbit/report/roc_curve.h"

#include <algorithm>
#include <numeric>
#include <stdexcept>

#include "lowbit/report/svg.h"

namespace lowbit::report {

std::vector<RocPoint> roc_curve(const std::vector<double>& scores, const std::vector<int>& labels) {
  if (scores.size() != labels.size()) {
    throw std::invalid_argument("roc_curve: " + std::to_string(scores.size()) + " scores but " +
                                std::to_string(labels.size()) + " labels");
  }
  double positives = 0, negatives = 0;
  for (int label : labels) {
    if (label != 0 && label != 1) throw std::invalid_argument("roc_curve: labels must be 0 or 1");
    (label == 1 ? positives : negatives) += 1;
  }
  if (positives == 0 || negatives == 0) {
    throw std::invalid_argument("roc_curve: both classes need at least one sample");
  }
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  std::vector<RocPoint> points{{0.0, 0.0}};
  double tp = 0, fp = 0;
  for (size_t i = 0; i < order.size(); ++i) {
    (labels[order[i]] == 1 ? tp : fp) += 1;
    const bool last_of_tie = i + 1 == order.size() || scores[order[i + 1]] != scores[order[i]];
    if (last_of_tie) points.push_back({fp / negatives, tp / positives});
  }
  return points;
}

double roc_area(const std::vector<RocPoint>& points) {
  double area = 0.0;
  for (size_t i = 1; i < points.size(); ++i) {
    area += (points[i].fpr - points[i - 1].fpr) * (points[i].tpr + points[i - 1].tpr) / 2;
  }
  return area;
}

std::string roc_svg(const std::vector<RocPoint>& points, double auc, const std::string& title) {
  Frame frame;
  frame.width = 340;
  frame.height = 320;
  frame.right = 20;
  const Scale x{0.0, 1.0, frame.x0(), frame.x1()};
  const Scale y{0.0, 1.0, frame.y0(), frame.y1()};
  SvgBuilder svg(frame, "roc", title);
  const std::vector<double> ticks{0.0, 0.2, 0.4, 0.6, 0.8, 1.0};
  draw_y_axis(svg, frame, y, "true-positive rate", ticks);
  draw_x_axis(svg, frame, x, "false-positive rate", ticks);
  svg.line(x(0), y(0), x(1), y(1), "#999999", "stroke-dasharray=\"4 3\" class=\"chance\"");
  std::vector<double> px, py;
  for (const RocPoint& p : points) {
    px.push_back(x(p.fpr));
    py.push_back(y(p.tpr));
  }
  svg.polyline(px, py, "#1f77b4", "class=\"roc\" stroke-width=\"2\"");
  svg.text(x(0.95), y(0.05), "AUC " + short_number(auc), "end", "font-size=\"13\"");
  return svg.str();
}

}  // namespace lowbit::report
