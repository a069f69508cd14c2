#include "lowbit/report/heat_map.h"

#include <algorithm>
#include <cstdio>

#include "lowbit/report/svg.h"

namespace lowbit::report {
namespace {

// White to dark blue; dark cells get white text.
std::string shade(double t) {
  const auto channel = [t](int from, int to) {
    return static_cast<int>(from + (to - from) * std::clamp(t, 0.0, 1.0) + 0.5);
  };
  char buffer[16];
  std::snprintf(buffer, sizeof(buffer), "#%02x%02x%02x", channel(255, 8), channel(255, 48),
                channel(255, 107));
  return buffer;
}

}  // namespace

std::string heat_map_svg(const HeatMap& map) {
  const size_t n = map.cells.size();
  Frame frame;
  frame.left = 70;
  frame.right = 16;
  frame.bottom = 50;
  const double side = std::clamp(28.0 * static_cast<double>(n), 120.0, 360.0);
  frame.width = frame.left + side + frame.right;
  frame.height = frame.top + side + frame.bottom;
  SvgBuilder svg(frame, "heat-map", map.title);
  const double cell = n > 0 ? side / static_cast<double>(n) : side;
  for (size_t r = 0; r < n; ++r) {
    int64_t row_total = 0;
    for (int64_t c : map.cells[r]) row_total += c;
    for (size_t c = 0; c < map.cells[r].size() && c < n; ++c) {
      const int64_t count = map.cells[r][c];
      const double share = row_total > 0 ? static_cast<double>(count) / row_total : 0.0;
      const double x = frame.x0() + cell * static_cast<double>(c);
      const double y = frame.y1() + cell * static_cast<double>(r);
      svg.rect(x, y, cell, cell, shade(share),
               "class=\"cell\" stroke=\"#ffffff\" data-count=\"" + std::to_string(count) + "\"");
      if (cell >= 18) {
        svg.text(x + cell / 2, y + cell / 2 + 4, std::to_string(count), "middle",
                 std::string("font-size=\"") + (cell >= 30 ? "10" : "8") + "\" fill=\"" +
                     (share > 0.5 ? "#ffffff" : "#000000") + "\"");
      }
    }
    const std::string label = r < map.labels.size() ? map.labels[r] : std::to_string(r);
    svg.text(frame.x0() - 4, frame.y1() + cell * (static_cast<double>(r) + 0.5) + 4, label, "end");
    svg.text(frame.x0() + cell * (static_cast<double>(r) + 0.5), frame.y1() + side + 14, label,
             "middle");
  }
  svg.text(frame.x0() + side / 2, frame.height - 8, map.x_label, "middle");
  const double ly = frame.y1() + side / 2;
  svg.text(14, ly, map.y_label, "middle", "transform=\"rotate(-90 14 " + coord(ly) + ")\"");
  return svg.str();
}

}  // namespace lowbit::report
