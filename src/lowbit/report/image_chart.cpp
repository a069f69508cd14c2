#include "lowbit/report/image_chart.h"

#include <algorithm>
#include <cstdint>

#include "lowbit/data/files/png_file.h"
#include "lowbit/report/svg.h"

namespace lowbit::report {

std::string base64(const std::string& bytes) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const size_t n = std::min<size_t>(3, bytes.size() - i);
    uint32_t v = 0;
    for (size_t k = 0; k < 3; ++k) {
      v = (v << 8) | (k < n ? static_cast<unsigned char>(bytes[i + k]) : 0u);
    }
    for (size_t k = 0; k < 4; ++k) {
      out += k <= n ? kAlphabet[(v >> (18 - 6 * k)) & 63] : '=';
    }
  }
  return out;
}

std::string png_data_uri(const torch::Tensor& rgb) {
  return "data:image/png;base64," + base64(data::encode_png_rgb8(rgb));
}

std::string image_svg(const torch::Tensor& rgb, const std::string& title, double zoom,
                      const std::string& left, const std::string& right) {
  const double w = static_cast<double>(rgb.size(1)) * zoom;
  const double h = static_cast<double>(rgb.size(0)) * zoom;
  Frame frame;
  frame.left = 10;
  frame.right = 10;
  frame.top = 28;
  frame.bottom = left.empty() && right.empty() ? 10 : 26;
  frame.width = std::max(w + frame.left + frame.right, 160.0);
  frame.height = h + frame.top + frame.bottom;
  SvgBuilder svg(frame, "image", title);
  svg.raw("<image class=\"pixels\" x=\"" + coord(frame.left) + "\" y=\"" + coord(frame.top) +
          "\" width=\"" + coord(w) + "\" height=\"" + coord(h) +
          "\" preserveAspectRatio=\"none\" style=\"image-rendering:pixelated\" href=\"" +
          png_data_uri(rgb) + "\"/>\n");
  const double y = frame.top + h + 16;
  if (!left.empty()) svg.text(frame.left + w / 4, y, left, "middle");
  if (!right.empty()) svg.text(frame.left + 3 * w / 4, y, right, "middle");
  return svg.str();
}

}  // namespace lowbit::report
