// Histograms: a layer's latent weights with its quantizer's levels and clipping values drawn on
// them, and the share of weights per integer code.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace lowbit::report {

/// Counts of values in equal-width bins.
struct HistogramData {
  std::vector<double> edges;    ///< bins + 1 ascending bin edges.
  std::vector<int64_t> counts;  ///< One count per bin.
};

/// Counts `values` in `bins` equal bins over [lo, hi]: bin i holds edges[i] <= v < edges[i + 1],
/// the last bin also v == hi; values outside [lo, hi] and non-finite ones are not counted.
/// Requires bins >= 1 and lo < hi (std::invalid_argument otherwise).
HistogramData histogram(const std::vector<float>& values, int bins, double lo, double hi);

/// A histogram with optional vertical lines.
struct HistogramChart {
  std::string title;              ///< Drawn above the plot.
  std::string x_label;            ///< X axis label.
  std::string y_label = "count";  ///< Y axis label.
  HistogramData data;             ///< The bars.
  std::vector<double> levels;     ///< Quantization levels, drawn as thin lines (none: empty).
  /// Clipping values, drawn as dashed red lines (NaN: none).
  double clip_low = std::numeric_limits<double>::quiet_NaN();
  double clip_high = std::numeric_limits<double>::quiet_NaN();  ///< See clip_low.
};

/// The chart as an SVG element: one `<rect class="bar" data-count=...>` per bin, one
/// `<line class="level">` per level and one `<line class="clip">` per clipping value.
std::string histogram_svg(const HistogramChart& chart);

}  // namespace lowbit::report
