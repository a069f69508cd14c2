// A heat map of counts (the confusion matrix: true class by row, predicted class by column).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lowbit::report {

/// A square table of counts with its row/column labels.
struct HeatMap {
  std::string title;                        ///< Drawn above the plot.
  std::string x_label = "predicted";        ///< Column axis label.
  std::string y_label = "true";             ///< Row axis label.
  std::vector<std::string> labels;          ///< One label per row (and column).
  std::vector<std::vector<int64_t>> cells;  ///< cells[row][column].
};

/// The map as an SVG element: one `<rect class="cell" data-count=...>` per cell, shaded by its
/// share of its row, with the count written in cells large enough to hold it.
std::string heat_map_svg(const HeatMap& map);

}  // namespace lowbit::report
