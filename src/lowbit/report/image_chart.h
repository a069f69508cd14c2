// Pixel images inside the page (flow images in the colour-wheel coding): the image is a PNG in a
// data: URI of an SVG <image>, so the page still fetches nothing.
#pragma once

#include <torch/types.h>

#include <string>

namespace lowbit::report {

/// `rgb` uint8 [H, W, 3] as a `data:image/png;base64,...` URI.
std::string png_data_uri(const torch::Tensor& rgb);

/// Standard base64 (RFC 4648, with padding) of `bytes`.
std::string base64(const std::string& bytes);

/// An SVG element showing `rgb` uint8 [H, W, 3] scaled `zoom` times with sharp pixels, under
/// `title`, with `left` and `right` written under the image's two halves ("" for none). Its
/// `<image class="pixels">` carries the PNG in a data: URI.
std::string image_svg(const torch::Tensor& rgb, const std::string& title, double zoom,
                      const std::string& left = "", const std::string& right = "");

}  // namespace lowbit::report
