// The ROC curve of a binary classifier's scores and the area under it.
#pragma once

#include <string>
#include <vector>

namespace lowbit::report {

/// One threshold's false- and true-positive rates.
struct RocPoint {
  double fpr = 0.0;  ///< False-positive rate.
  double tpr = 0.0;  ///< True-positive rate.
};

/// The ROC curve of `scores` against 0/1 `labels`: (0, 0), then one point per distinct score
/// from the highest down (tied scores move both rates at once, a diagonal step), ending at
/// (1, 1). Throws std::invalid_argument on a label other than 0/1, sizes that differ, or a class
/// with no sample.
std::vector<RocPoint> roc_curve(const std::vector<double>& scores, const std::vector<int>& labels);

/// The area under `points` by the trapezoid rule: for roc_curve's points this equals the
/// Mann-Whitney AUC with ties counting one half (train::roc_auc).
double roc_area(const std::vector<RocPoint>& points);

/// The curve as an SVG element: a `<polyline class="roc">` through the points, the chance
/// diagonal, and the AUC written in the plot.
std::string roc_svg(const std::vector<RocPoint>& points, double auc, const std::string& title);

}  // namespace lowbit::report
