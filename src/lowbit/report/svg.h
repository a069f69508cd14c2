// The drawing pieces every chart shares: an SVG element builder, linear scales, round tick values
// and axes. Charts are plain functions from data to SVG text (report/*_chart.h), so they are
// tested without a browser.
#pragma once

#include <string>
#include <vector>

namespace lowbit::report {

/// Escapes `&`, `<`, `>`, `"` and `'` so that `text` is safe in XML/HTML text and attributes.
std::string xml_escape(const std::string& text);

/// A pixel coordinate with two decimals ("12.35"); more is invisible on screen.
std::string coord(double value);

/// A short label for an axis tick or a data value ("0.25", "1e+04").
std::string short_number(double value);

/// About `count` round values (1, 2 or 5 times a power of ten apart) covering [lo, hi].
std::vector<double> nice_ticks(double lo, double hi, int count);

/// A closed interval of data values.
struct Range {
  double lo = 0.0;  ///< Smallest value.
  double hi = 1.0;  ///< Largest value.
};

/// The range of the finite `values`, widened to a non-empty interval ([0, 1] when none is finite,
/// +-0.5 around a single value) and padded by `pad` of its width on both sides.
Range finite_range(const std::vector<double>& values, double pad = 0.0);

/// A linear map from data values [lo, hi] to pixels [p0, p1].
struct Scale {
  double lo = 0.0;  ///< Data value drawn at p0.
  double hi = 1.0;  ///< Data value drawn at p1.
  double p0 = 0.0;  ///< Pixel of lo.
  double p1 = 1.0;  ///< Pixel of hi.
  /// The pixel of `value`.
  double operator()(double value) const;
};

/// The size of a chart and the margins between its border and the plot area.
struct Frame {
  double width = 560;   ///< SVG width in pixels.
  double height = 300;  ///< SVG height in pixels.
  double left = 64;     ///< Margin left of the plot area (left axis).
  double right = 20;    ///< Margin right of the plot area (right axis when there is one).
  double top = 40;      ///< Margin above the plot area (title, legend).
  double bottom = 44;   ///< Margin below the plot area (x axis).
  /// Pixel x of the plot area's left edge.
  double x0() const { return left; }
  /// Pixel x of the plot area's right edge.
  double x1() const { return width - right; }
  /// Pixel y of the plot area's bottom edge.
  double y0() const { return height - bottom; }
  /// Pixel y of the plot area's top edge.
  double y1() const { return top; }
};

/// The colour of series `index` (a fixed palette, cycled).
const char* palette(size_t index);

/// Writes one `<svg>` element: shapes are appended in drawing order, `str()` closes it.
class SvgBuilder {
 public:
  /// An SVG of `frame`'s size whose `class` is "chart `kind`" and whose title is `title` (drawn
  /// at the top and given as `<title>` for screen readers).
  SvgBuilder(const Frame& frame, const std::string& kind, const std::string& title);

  /// A line from (x1, y1) to (x2, y2); `attrs` are further attributes (already escaped).
  void line(double x1, double y1, double x2, double y2, const std::string& stroke,
            const std::string& attrs = "");
  /// A rectangle with its top-left corner at (x, y).
  void rect(double x, double y, double w, double h, const std::string& fill,
            const std::string& attrs = "");
  /// A circle of radius r around (cx, cy).
  void circle(double cx, double cy, double r, const std::string& fill,
              const std::string& attrs = "");
  /// A polyline through the points (xs[i], ys[i]).
  void polyline(const std::vector<double>& xs, const std::vector<double>& ys,
                const std::string& stroke, const std::string& attrs = "");
  /// Text at (x, y); `anchor` is start, middle or end. The text is escaped here.
  void text(double x, double y, const std::string& text, const std::string& anchor = "start",
            const std::string& attrs = "");
  /// Markup appended as it is (already escaped), for elements without a helper.
  void raw(const std::string& markup) { body_ += markup; }
  /// The finished element.
  std::string str() const;

 private:
  std::string body_;
};

/// `svg` (an element from SvgBuilder, which HTML embeds without a namespace) as a standalone SVG
/// file: the XML declaration and the SVG namespace added.
std::string standalone_svg(const std::string& svg);

/// Draws the x axis of `frame`: the baseline, ticks with labels and the axis label.
void draw_x_axis(SvgBuilder& svg, const Frame& frame, const Scale& x, const std::string& label,
                 const std::vector<double>& ticks);

/// Draws a y axis on the left (or right) edge of the plot area with ticks, labels and a rotated
/// axis label; on the left also light grid lines across the plot.
void draw_y_axis(SvgBuilder& svg, const Frame& frame, const Scale& y, const std::string& label,
                 const std::vector<double>& ticks, bool right = false);

}  // namespace lowbit::report
