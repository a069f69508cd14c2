// The chart functions: data in, SVG text out, checked without a browser.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "lowbit/report/heat_map.h"
#include "lowbit/report/histogram_chart.h"
#include "lowbit/report/line_chart.h"
#include "lowbit/report/roc_curve.h"
#include "lowbit/report/scatter_chart.h"
#include "lowbit/report/svg.h"
#include "lowbit/train/report/metrics.h"
#include "text_count.h"

namespace lowbit::report {
namespace {

// count_in as an int, for comparisons with int literals.
int count(const std::string& text, const std::string& what) {
  return static_cast<int>(lowbit::testing::count_in(text, what));
}

// The number of points of the first polyline carrying `marker`.
int polyline_points(const std::string& svg, const std::string& marker) {
  const size_t at = svg.find(marker);
  if (at == std::string::npos) return -1;
  const size_t open = svg.rfind("<polyline points=\"", at);
  const size_t begin = open + 18;
  const std::string points = svg.substr(begin, svg.find('"', begin) - begin);
  return points.empty() ? 0 : count(points, " ") + 1;
}

TEST(Svg, EscapesMarkupInText) {
  EXPECT_EQ(xml_escape("a<b & \"c\" 'd'>"), "a&lt;b &amp; &quot;c&quot; &#39;d&#39;&gt;");
  LineChart chart;
  chart.title = "<script>alert(1)</script>";
  chart.series.push_back({"x&y", {1, 2}, {3, 4}});
  const std::string svg = line_chart_svg(chart);
  EXPECT_EQ(svg.find("<script>"), std::string::npos);
  EXPECT_NE(svg.find("&lt;script&gt;"), std::string::npos);
  EXPECT_NE(svg.find("data-name=\"x&amp;y\""), std::string::npos);
}

TEST(Svg, NiceTicksAreRoundAndCoverTheRange) {
  EXPECT_EQ(nice_ticks(0.0, 1.0, 5),
            (std::vector<double>{0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0}));
  const auto ticks = nice_ticks(-3.7, 12.2, 4);
  ASSERT_GE(ticks.size(), 3u);
  EXPECT_DOUBLE_EQ(ticks[1] - ticks[0], 5.0);
  EXPECT_GE(ticks.front(), -3.7);
  EXPECT_LE(ticks.back(), 12.2);
  const Range r = finite_range({NAN, 2.0, INFINITY});
  EXPECT_EQ(r.lo, 1.5);
  EXPECT_EQ(r.hi, 2.5);
}

TEST(LineChart, DrawsOneSegmentPerRunOfFinitePointsAndEveryEvent) {
  LineChart chart;
  chart.series.push_back({"val_loss", {1, 2, 3, 4, 5}, {0.5, 0.4, NAN, 0.3, 0.2}});
  chart.series.push_back({"lr", {1, 2, 3, 4, 5}, {0.1, 0.1, 0.05, 0.05, 0.01}, true, true});
  chart.events = {{2.5, "2 bits"}, {3.5, "freeze"}};
  const std::string svg = line_chart_svg(chart);
  EXPECT_EQ(count(svg, "data-name=\"val_loss\""), 2);  // split at the NaN
  EXPECT_EQ(count(svg, "data-name=\"lr\""), 1);
  EXPECT_EQ(count(svg, "class=\"event\""), 2);
  EXPECT_NE(svg.find(">2 bits</text>"), std::string::npos);
  EXPECT_EQ(count(svg, "<circle"), 9);  // one dot per finite point
  EXPECT_NE(svg.find("(right)"), std::string::npos);
}

TEST(Scatter, ParetoFrontKeepsOnlyUndominatedPoints) {
  const std::vector<ScatterPoint> points = {{32, 0.90, "fp"},     {8, 0.89, "w8"}, {4, 0.85, "w4"},
                                            {4, 0.80, "w4b"},     {2, 0.86, "w2"}, {1, NAN, "nan"},
                                            {8, 0.89, "w8 again"}};
  const std::vector<size_t> front = pareto_front(points);
  // w4 (4, 0.85) loses to w2 (2, 0.86); w4b too; the two equal w8 points both stay.
  EXPECT_EQ(front, (std::vector<size_t>{4, 1, 6, 0}));
  // Smaller is better (AEE): the cheapest point with the lowest error dominates.
  EXPECT_EQ(pareto_front({{1, 2.0, "a"}, {2, 1.0, "b"}, {3, 3.0, "c"}}, false),
            (std::vector<size_t>{0, 1}));
  ScatterChart chart{"t", "bits", "accuracy", points, true};
  const std::string svg = scatter_svg(chart);
  EXPECT_EQ(count(svg, "class=\"point front\""), 4);
  EXPECT_EQ(count(svg, "class=\"point\""), 2);  // w4, w4b; the NaN point is not drawn
  EXPECT_EQ(count(svg, "class=\"front\""), 1);
}

TEST(Histogram, CountsEveryValueInItsBinOnce) {
  const std::vector<float> values = {-1.0f, -0.5f,  -0.25f, 0.0f, 0.0f,
                                     0.5f,  0.999f, 1.0f,   2.0f, NAN};
  const HistogramData h = histogram(values, 4, -1.0, 1.0);
  EXPECT_EQ(h.edges, (std::vector<double>{-1.0, -0.5, 0.0, 0.5, 1.0}));
  EXPECT_EQ(h.counts, (std::vector<int64_t>{1, 2, 2, 3}));  // 2.0 and NaN outside
  EXPECT_THROW(histogram(values, 0, -1, 1), std::invalid_argument);
  EXPECT_THROW(histogram(values, 4, 1, 1), std::invalid_argument);

  HistogramChart chart;
  chart.data = h;
  chart.levels = {-0.75, -0.25, 0.25, 0.75};
  chart.clip_low = -0.75;
  chart.clip_high = 0.75;
  const std::string svg = histogram_svg(chart);
  EXPECT_EQ(count(svg, "class=\"bar\""), 4);
  EXPECT_NE(svg.find("data-count=\"3\""), std::string::npos);
  EXPECT_EQ(count(svg, "class=\"level\""), 4);
  EXPECT_EQ(count(svg, "class=\"clip\""), 2);
}

TEST(HeatMap, OneCellPerEntryWithItsCount) {
  HeatMap map;
  map.labels = {"0", "1", "2"};
  map.cells = {{5, 1, 0}, {0, 7, 2}, {1, 0, 9}};
  const std::string svg = heat_map_svg(map);
  EXPECT_EQ(count(svg, "class=\"cell\""), 9);
  EXPECT_NE(svg.find("data-count=\"9\""), std::string::npos);
  EXPECT_NE(svg.find(">7</text>"), std::string::npos);
}

TEST(Roc, CurveAreaEqualsTheMannWhitneyAuc) {
  // Ties across the classes (0.5 twice, 0.2 twice) give diagonal steps.
  const std::vector<double> scores = {0.9, 0.5, 0.5, 0.2, 0.2, 0.8, 0.1, 0.7, 0.3};
  const std::vector<int> labels = {1, 1, 0, 1, 0, 0, 0, 1, 1};
  const std::vector<RocPoint> roc = roc_curve(scores, labels);
  ASSERT_EQ(roc.size(), 8u);  // (0, 0) and 7 distinct scores
  EXPECT_EQ(roc.front().fpr, 0.0);
  EXPECT_EQ(roc.back().fpr, 1.0);
  EXPECT_EQ(roc.back().tpr, 1.0);
  EXPECT_DOUBLE_EQ(roc[1].tpr, 0.2);  // 0.9 is a positive: 1 of 5
  EXPECT_DOUBLE_EQ(roc[1].fpr, 0.0);
  std::vector<float> s(scores.begin(), scores.end());
  std::vector<float> l(labels.begin(), labels.end());
  const double auc = train::roc_auc(torch::tensor(s), torch::tensor(l));
  EXPECT_NEAR(roc_area(roc), auc, 1e-12);
  EXPECT_THROW(roc_curve({0.1, 0.2}, {1, 1}), std::invalid_argument);
  EXPECT_THROW(roc_curve({0.1}, {1, 0}), std::invalid_argument);
  EXPECT_THROW(roc_curve({0.1, 0.2}, {1, 2}), std::invalid_argument);
  const std::string svg = roc_svg(roc, auc, "roc");
  EXPECT_EQ(count(svg, "class=\"roc\""), 1);
  EXPECT_EQ(polyline_points(svg, "class=\"roc\""), 8);
}

}  // namespace
}  // namespace lowbit::report
