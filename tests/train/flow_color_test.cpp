#include "lowbit/train/report/flow_color.h"

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>

namespace lowbit::train {
namespace {

constexpr double kPi = 3.14159265358979323846;

// The flow vector of unit length whose direction sits at position k of the wheel: the wheel
// runs over the angle of (-u, -v) from -pi (position 0) to pi (position kWheelColours - 1).
std::pair<double, double> direction_at(double k) {
  const double angle = (2.0 * k / (kWheelColours - 1) - 1.0) * kPi;
  return {-std::cos(angle), -std::sin(angle)};
}

void expect_near(const Rgb8& got, const Rgb8& want, int tolerance, const char* what) {
  for (size_t c = 0; c < 3; ++c) {
    EXPECT_NEAR(got[c], want[c], tolerance) << what << " channel " << c << ": got (" << int(got[0])
                                            << ", " << int(got[1]) << ", " << int(got[2]) << ")";
  }
}

TEST(FlowColour, SegmentStartsArePureColours) {
  // Red, yellow, green, cyan, blue and magenta begin the segments of 15, 6, 4, 11, 13 and 6.
  const struct {
    double k;
    Rgb8 colour;
    const char* name;
  } keys[] = {{0, {255, 0, 0}, "red"},    {15, {255, 255, 0}, "yellow"},
              {21, {0, 255, 0}, "green"}, {25, {0, 255, 255}, "cyan"},
              {36, {0, 0, 255}, "blue"},  {49, {255, 0, 255}, "magenta"}};
  for (const auto& key : keys) {
    const auto [u, v] = direction_at(key.k);
    // Rounding of the angle may land just before the key: one step of 255 at most.
    expect_near(flow_colour(2.0 * u, 2.0 * v, 2.0), key.colour, 1, key.name);
  }
}

TEST(FlowColour, KnownDirectionsHaveKnownHues) {
  // Rightward flow: (-u, -v) = (-1, -0) points at -pi, the wheel's start: pure red.
  expect_near(flow_colour(1.0, 0.0, 1.0), {255, 0, 0}, 0, "right");
  // Downward (+v): position 13.5 of the red-yellow segment: red with green 0.5 (13 + 14) / 15.
  expect_near(flow_colour(0.0, 1.0, 1.0), {255, 229, 0}, 1, "down");
  // Leftward: position 27, two steps into cyan-blue (green falls by 255 / 11 per step).
  expect_near(flow_colour(-1.0, 0.0, 1.0), {0, 209, 255}, 1, "left");
  // Upward: position 40.5 of blue-magenta: red rises 255 / 13 per step, between steps 4 and 5.
  expect_near(flow_colour(0.0, -1.0, 1.0), {88, 0, 255}, 1, "up");
}

TEST(FlowColour, MagnitudeIsSaturation) {
  EXPECT_EQ(flow_colour(0.0, 0.0, 1.0), (Rgb8{255, 255, 255}));  // no motion: white
  EXPECT_EQ(flow_colour(1.0, 0.0, 0.0), (Rgb8{255, 255, 255}));  // no scale: white
  EXPECT_EQ(flow_colour(0.5, 0.0, 1.0), (Rgb8{255, 127, 127}));  // half red: 1 - 0.5 (1 - 0)
  EXPECT_EQ(flow_colour(2.0, 0.0, 2.0), (Rgb8{255, 0, 0}));
  // Beyond the maximum: darker, 0.75 of the colour.
  EXPECT_EQ(flow_colour(4.0, 0.0, 2.0), (Rgb8{191, 0, 0}));
  // The colour depends on the direction only, not the scale of the units.
  EXPECT_EQ(flow_colour(0.5, 1.0, 2.0), flow_colour(2.0, 4.0, 8.0));
}

TEST(FlowImage, PixelsAndMask) {
  torch::Tensor flow = torch::zeros({2, 2, 3});
  flow[0][0][0] = 2.0;   // right, full magnitude
  flow[0][0][1] = 1.0;   // right, half
  flow[1][1][2] = -2.0;  // up
  torch::Tensor valid = torch::ones({2, 3});
  valid[1][0] = 0;
  EXPECT_DOUBLE_EQ(max_flow_magnitude(flow, valid), 2.0);
  const torch::Tensor rgb = flow_to_rgb(flow, 2.0, valid);
  ASSERT_EQ(rgb.sizes(), (std::vector<int64_t>{2, 3, 3}));
  ASSERT_EQ(rgb.scalar_type(), torch::kUInt8);
  auto px = [&](int y, int x) {
    return Rgb8{rgb[y][x][0].item<uint8_t>(), rgb[y][x][1].item<uint8_t>(),
                rgb[y][x][2].item<uint8_t>()};
  };
  EXPECT_EQ(px(0, 0), flow_colour(2.0, 0.0, 2.0));
  EXPECT_EQ(px(0, 1), flow_colour(1.0, 0.0, 2.0));
  EXPECT_EQ(px(0, 2), (Rgb8{255, 255, 255}));
  EXPECT_EQ(px(1, 0), (Rgb8{0, 0, 0}));  // no ground truth
  EXPECT_EQ(px(1, 2), flow_colour(0.0, -2.0, 2.0));
  EXPECT_THROW(flow_to_rgb(torch::zeros({3, 2, 2}), 1.0), std::invalid_argument);
  EXPECT_THROW(flow_to_rgb(flow, 1.0, torch::ones({3, 3})), std::invalid_argument);
}

TEST(FlowImage, ComparisonSharesTheScale) {
  torch::Tensor truth = torch::zeros({2, 2, 2});
  truth[0].fill_(4.0);
  const torch::Tensor predicted = truth * 0.5;
  const torch::Tensor image = flow_comparison_image(predicted, truth);
  ASSERT_EQ(image.sizes(), (std::vector<int64_t>{2, 4 + kComparisonGap, 3}));
  // Left half: half of the true maximum, so half saturated; right half: fully saturated.
  EXPECT_EQ(image[0][0][1].item<uint8_t>(), 127);
  EXPECT_EQ(image[0][2 + kComparisonGap][1].item<uint8_t>(), 0);
  EXPECT_EQ(image[0][2][0].item<uint8_t>(), 255);  // the white gap
}

TEST(FlowImage, LegendIsTheWheel) {
  const torch::Tensor legend = colour_wheel_legend(21);
  ASSERT_EQ(legend.sizes(), (std::vector<int64_t>{21, 21, 3}));
  EXPECT_EQ(legend[10][10][0].item<uint8_t>(), 255);  // centre: white
  EXPECT_EQ(legend[10][10][2].item<uint8_t>(), 255);
  EXPECT_EQ(legend[10][20][1].item<uint8_t>(), flow_colour(10.0, 0.0, 10.0)[1]);  // right edge
  EXPECT_EQ(legend[0][0].sum().item<int64_t>(), 0);  // corner: outside the circle
}

}  // namespace
}  // namespace lowbit::train
