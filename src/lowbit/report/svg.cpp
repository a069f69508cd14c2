#include "lowbit/report/svg.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace lowbit::report {

std::string xml_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string coord(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.2f", std::isfinite(value) ? value : 0.0);
  return buffer;
}

std::string short_number(double value) {
  if (!std::isfinite(value)) return "-";
  if (std::fabs(value) < 1e-12) return "0";
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.4g", value);
  return buffer;
}

std::vector<double> nice_ticks(double lo, double hi, int count) {
  if (!(hi > lo) || count < 1) return {lo};
  const double raw = (hi - lo) / count;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  double step = power;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * power;
    if (step >= raw) break;
  }
  std::vector<double> ticks;
  for (double t = std::ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step) {
    ticks.push_back(std::fabs(t) < step * 1e-9 ? 0.0 : t);
  }
  return ticks;
}

Range finite_range(const std::vector<double>& values, double pad) {
  Range r{INFINITY, -INFINITY};
  for (double v : values) {
    if (!std::isfinite(v)) continue;
    r.lo = std::min(r.lo, v);
    r.hi = std::max(r.hi, v);
  }
  if (r.lo > r.hi) return {0.0, 1.0};
  if (r.hi - r.lo < 1e-12 * std::max(1.0, std::fabs(r.lo))) {
    return {r.lo - 0.5, r.hi + 0.5};
  }
  const double width = r.hi - r.lo;
  return {r.lo - pad * width, r.hi + pad * width};
}

double Scale::operator()(double value) const {
  if (hi == lo) return (p0 + p1) / 2;
  return p0 + (value - lo) / (hi - lo) * (p1 - p0);
}

const char* palette(size_t index) {
  static const char* kColours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                   "#9467bd", "#8c564b", "#e377c2", "#17becf"};
  return kColours[index % (sizeof(kColours) / sizeof(kColours[0]))];
}

SvgBuilder::SvgBuilder(const Frame& frame, const std::string& kind, const std::string& title) {
  body_ = "<svg class=\"chart " + xml_escape(kind) + "\" width=\"" + coord(frame.width) +
          "\" height=\"" + coord(frame.height) + "\" viewBox=\"0 0 " + coord(frame.width) + " " +
          coord(frame.height) + "\" font-family=\"sans-serif\" font-size=\"11\">\n<title>" +
          xml_escape(title) + "</title>\n<rect x=\"0\" y=\"0\" width=\"" + coord(frame.width) +
          "\" height=\"" + coord(frame.height) + "\" fill=\"#ffffff\"/>\n";
  text(frame.width / 2, 16, title, "middle", "font-size=\"13\" font-weight=\"bold\"");
}

void SvgBuilder::line(double x1, double y1, double x2, double y2, const std::string& stroke,
                      const std::string& attrs) {
  body_ += "<line x1=\"" + coord(x1) + "\" y1=\"" + coord(y1) + "\" x2=\"" + coord(x2) +
           "\" y2=\"" + coord(y2) + "\" stroke=\"" + stroke + "\"" +
           (attrs.empty() ? "" : " " + attrs) + "/>\n";
}

void SvgBuilder::rect(double x, double y, double w, double h, const std::string& fill,
                      const std::string& attrs) {
  body_ += "<rect x=\"" + coord(x) + "\" y=\"" + coord(y) + "\" width=\"" + coord(w) +
           "\" height=\"" + coord(h) + "\" fill=\"" + fill + "\"" +
           (attrs.empty() ? "" : " " + attrs) + "/>\n";
}

void SvgBuilder::circle(double cx, double cy, double r, const std::string& fill,
                        const std::string& attrs) {
  body_ += "<circle cx=\"" + coord(cx) + "\" cy=\"" + coord(cy) + "\" r=\"" + coord(r) +
           "\" fill=\"" + fill + "\"" + (attrs.empty() ? "" : " " + attrs) + "/>\n";
}

void SvgBuilder::polyline(const std::vector<double>& xs, const std::vector<double>& ys,
                          const std::string& stroke, const std::string& attrs) {
  std::string points;
  for (size_t i = 0; i < xs.size() && i < ys.size(); ++i) {
    if (i > 0) points += ' ';
    points += coord(xs[i]) + "," + coord(ys[i]);
  }
  body_ += "<polyline points=\"" + points + "\" fill=\"none\" stroke=\"" + stroke + "\"" +
           (attrs.empty() ? "" : " " + attrs) + "/>\n";
}

void SvgBuilder::text(double x, double y, const std::string& text, const std::string& anchor,
                      const std::string& attrs) {
  body_ += "<text x=\"" + coord(x) + "\" y=\"" + coord(y) + "\" text-anchor=\"" + anchor + "\"" +
           (attrs.empty() ? "" : " " + attrs) + ">" + xml_escape(text) + "</text>\n";
}

std::string SvgBuilder::str() const {
  return body_ + "</svg>\n";
}

std::string standalone_svg(const std::string& svg) {
  const std::string open = "<svg ";
  if (svg.compare(0, open.size(), open) != 0) return svg;
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" " +
         svg.substr(open.size());
}

void draw_x_axis(SvgBuilder& svg, const Frame& frame, const Scale& x, const std::string& label,
                 const std::vector<double>& ticks) {
  svg.line(frame.x0(), frame.y0(), frame.x1(), frame.y0(), "#333333");
  for (double t : ticks) {
    const double px = x(t);
    if (px < frame.x0() - 0.5 || px > frame.x1() + 0.5) continue;
    svg.line(px, frame.y0(), px, frame.y0() + 4, "#333333");
    svg.text(px, frame.y0() + 16, short_number(t), "middle");
  }
  svg.text((frame.x0() + frame.x1()) / 2, frame.height - 6, label, "middle");
}

void draw_y_axis(SvgBuilder& svg, const Frame& frame, const Scale& y, const std::string& label,
                 const std::vector<double>& ticks, bool right) {
  const double edge = right ? frame.x1() : frame.x0();
  const double dir = right ? 1.0 : -1.0;
  svg.line(edge, frame.y0(), edge, frame.y1(), "#333333");
  for (double t : ticks) {
    const double py = y(t);
    if (py > frame.y0() + 0.5 || py < frame.y1() - 0.5) continue;
    if (!right) svg.line(frame.x0(), py, frame.x1(), py, "#e6e6e6");
    svg.line(edge, py, edge + 4 * dir, py, "#333333");
    svg.text(edge + 7 * dir, py + 4, short_number(t), right ? "start" : "end");
  }
  const double lx = right ? frame.width - 8 : 12;
  const double ly = (frame.y0() + frame.y1()) / 2;
  svg.text(lx, ly, label, "middle",
           "transform=\"rotate(" + std::string(right ? "90 " : "-90 ") + coord(lx) + " " +
               coord(ly) + ")\"");
}

}  // namespace lowbit::report
