// Optical flow as colour images in the colour-wheel coding of the Middlebury flow benchmark (Baker
// et al., "A Database and Evaluation Methodology for Optical Flow"): the hue is the direction of
// the flow vector, the saturation its magnitude over a normalising maximum (white is no motion).
// Data in, pixels out, so `lowbit flow-image` and an HTML report draw the same colours.
#pragma once

#include <torch/types.h>

#include <array>
#include <cstdint>

namespace lowbit::train {

/// One 8-bit RGB colour.
using Rgb8 = std::array<uint8_t, 3>;

/// Colours on the wheel: red-yellow, yellow-green, green-cyan, cyan-blue, blue-magenta and
/// magenta-red segments of 15, 6, 4, 11, 13 and 6 steps (more steps where the eye separates hues
/// better), 55 in all.
inline constexpr int kWheelColours = 55;

/// The colour of the flow vector (u, v) (u along x to the right, v along y downwards, pixels)
/// when `max_magnitude` is the magnitude drawn at full saturation. The direction picks a
/// position on the wheel, linearly between its two nearest colours; the magnitude r =
/// |(u, v)| / max_magnitude whitens it: each channel is 1 - r (1 - c) for r <= 1, and vectors
/// beyond the maximum are drawn darker (0.75 c). Rightward flow is red, downward yellow-orange,
/// leftward cyan-blue, upward blue-violet. Zero flow (or max_magnitude <= 0) is white.
Rgb8 flow_colour(double u, double v, double max_magnitude);

/// The largest flow magnitude |(u, v)| over the pixels of `flow` [2, H, W] where `valid` [H, W]
/// is non-zero (every pixel when `valid` is undefined); 0 when there is none.
double max_flow_magnitude(const torch::Tensor& flow, const torch::Tensor& valid = {});

/// `flow` [2, H, W] (u, v) as an image uint8 [H, W, 3] coloured by flow_colour with
/// `max_magnitude`; pixels where `valid` [H, W] is zero are black. Throws std::invalid_argument
/// naming the expected shapes.
torch::Tensor flow_to_rgb(const torch::Tensor& flow, double max_magnitude,
                          const torch::Tensor& valid = {});

/// Pixels between the two halves of flow_comparison_image (white).
inline constexpr int64_t kComparisonGap = 4;

/// Predicted and true flow side by side, uint8 [H, 2 W + kComparisonGap, 3]: `predicted` [2, H, W]
/// on the left, `truth` [2, H, W] on the right, both coloured with the same maximum (the largest
/// true magnitude over `valid` pixels, else the largest predicted one) so equal colours mean equal
/// flow. Pixels where `valid` [H, W] is zero are black in the truth only.
torch::Tensor flow_comparison_image(const torch::Tensor& predicted, const torch::Tensor& truth,
                                    const torch::Tensor& valid = {});

/// The colour wheel itself as a legend, uint8 [size, size, 3]: the pixel at offset (dx, dy) from
/// the centre has the colour of the flow (dx, dy) with the radius as maximum; black outside the
/// circle.
torch::Tensor colour_wheel_legend(int64_t size);

}  // namespace lowbit::train
