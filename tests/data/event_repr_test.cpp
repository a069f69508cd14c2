#include "lowbit/data/events/event_repr.h"

#include <gtest/gtest.h>

#include "lowbit/data/events/event_flow.h"
#include "lowbit/data/rng.h"

namespace lowbit::data {
namespace {

EventStream make_events(const std::vector<int>& xs, const std::vector<int>& ys,
                        const std::vector<double>& ts, const std::vector<int>& ps, int64_t h,
                        int64_t w) {
  EventStream e = empty_events(h, w, "hand-made");
  e.x = torch::tensor(std::vector<int64_t>(xs.begin(), xs.end())).to(torch::kInt16);
  e.y = torch::tensor(std::vector<int64_t>(ys.begin(), ys.end())).to(torch::kInt16);
  e.t = torch::tensor(ts, torch::kFloat64);
  e.p = torch::tensor(std::vector<int64_t>(ps.begin(), ps.end())).to(torch::kInt8);
  return e;
}

// A random sorted stream of n events on an h x w sensor in [0, 1).
EventStream random_events(int64_t n, int64_t h, int64_t w, uint64_t seed) {
  Rng rng(seed);
  std::vector<int> xs, ys, ps;
  std::vector<double> ts;
  for (int64_t i = 0; i < n; ++i) {
    xs.push_back(static_cast<int>(rng.below(static_cast<uint64_t>(w))));
    ys.push_back(static_cast<int>(rng.below(static_cast<uint64_t>(h))));
    ts.push_back(rng.uniform());
    ps.push_back(rng.uniform() < 0.5 ? -1 : 1);
  }
  std::sort(ts.begin(), ts.end());
  return make_events(xs, ys, ts, ps, h, w);
}

TEST(EventRepr, VoxelGridSplitsEachEventBilinearlyInTime) {
  // T = 3 bins over [0, 1]: tau = 2 t. t = 0.25 -> tau 0.5 (half in bins 0 and 1), t = 0.5 ->
  // bin 1, t = 0.875 -> tau 1.75 (0.25 in bin 1, 0.75 in bin 2), t = 1 -> bin 2.
  const EventStream e =
      make_events({1, 1, 2, 0}, {0, 0, 1, 1}, {0.25, 0.5, 0.875, 1.0}, {1, -1, 1, -1}, 2, 3);
  const torch::Tensor g = voxel_grid(e, 3, 0.0, 1.0);
  ASSERT_EQ(g.sizes(), (std::vector<int64_t>{3, 2, 2, 3}));
  EXPECT_FLOAT_EQ(g[0][0][0][1].item<float>(), 0.5f);
  EXPECT_FLOAT_EQ(g[1][0][0][1].item<float>(), 0.5f);
  EXPECT_FLOAT_EQ(g[1][1][0][1].item<float>(), 1.0f);  // OFF event in channel 1
  EXPECT_FLOAT_EQ(g[1][0][1][2].item<float>(), 0.25f);
  EXPECT_FLOAT_EQ(g[2][0][1][2].item<float>(), 0.75f);
  EXPECT_FLOAT_EQ(g[2][1][1][0].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(g.sum().item<float>(), 4.0f);
  EXPECT_EQ(g.ne(0).sum().item<int64_t>(), 6);
}

TEST(EventRepr, SumsEqualEventCountsPerPixelAndPolarity) {
  const EventStream e = random_events(5000, 6, 7, 3);
  for (int64_t bins : {1, 2, 5, 9}) {
    const torch::Tensor v = voxel_grid(e, bins, 0.0, 1.0);
    const torch::Tensor c = count_images(e, bins, 0.0, 1.0);
    EXPECT_NEAR(v.sum().item<double>(), 5000.0, 1e-2);
    EXPECT_EQ(c.sum().item<double>(), 5000.0);
    // Over time, both give the per-pixel, per-polarity event counts.
    const torch::Tensor per_pixel = c.sum(0);
    EXPECT_TRUE(torch::allclose(v.sum(0), per_pixel, 1e-4, 1e-4)) << bins;
    const auto ex = e.x.to(torch::kLong), ey = e.y.to(torch::kLong);
    const auto on = e.p.gt(0);
    const int64_t at = 3 * 7 + 4;
    const auto here = ey.mul(7).add(ex).eq(at);
    EXPECT_EQ(per_pixel[0][3][4].item<float>(), here.logical_and(on).sum().item<int64_t>());
    EXPECT_EQ(per_pixel[1][3][4].item<float>(),
              here.logical_and(on.logical_not()).sum().item<int64_t>());
  }
}

TEST(EventRepr, CountImagesBinByTimeAndIgnoreEventsOutsideTheWindow) {
  const EventStream e = make_events({0, 0, 0, 0, 0}, {0, 0, 0, 0, 0}, {-0.5, 0.0, 0.49, 0.5, 2.0},
                                    {1, 1, 1, 1, 1}, 1, 1);
  const torch::Tensor c = count_images(e, 2, 0.0, 2.0);  // bins [0, 1), [1, 2]
  EXPECT_EQ(c[0][0][0][0].item<float>(), 3.0f);          // 0, 0.49, 0.5
  EXPECT_EQ(c[1][0][0][0].item<float>(), 1.0f);          // t == t_end goes to the last bin
  const torch::Tensor v = voxel_grid(e, 2, 0.0, 2.0);
  EXPECT_FLOAT_EQ(v.sum().item<float>(), 4.0f);  // the event at -0.5 is outside
  EXPECT_THROW(voxel_grid(e, 0, 0.0, 1.0), std::invalid_argument);
  EXPECT_THROW(count_images(e, 2, 1.0, 1.0), std::invalid_argument);
}

TEST(EventRepr, InvalidStreamsAreRefused) {
  EventStream e = make_events({5}, {0}, {0.1}, {1}, 2, 3);  // x = 5 on a 3-wide sensor
  EXPECT_THROW(voxel_grid(e, 2, 0.0, 1.0), std::invalid_argument);
  e = make_events({0, 1}, {0, 0}, {0.5, 0.1}, {1, 1}, 2, 3);  // unsorted
  EXPECT_THROW(e.check(), std::invalid_argument);
  e = make_events({0}, {0}, {0.5}, {0}, 2, 3);  // polarity 0
  EXPECT_THROW(e.check(), std::invalid_argument);
}

TEST(EventRepr, EventsBetweenUsesHalfOpenWindows) {
  const EventStream e =
      make_events({0, 1, 2, 0}, {0, 0, 0, 0}, {0.1, 0.2, 0.2, 0.3}, {1, 1, 1, 1}, 1, 3);
  EXPECT_EQ(events_between(e, 0.2, 0.3).size(), 2);
  EXPECT_EQ(events_between(e, 0.0, 0.2).size(), 1);
  EXPECT_EQ(events_between(e, 0.31, 0.5).size(), 0);
}

TEST(EventRepr, PixelMaskMarksPixelsWithAnyEvent) {
  const EventStream e = make_events({1, 2}, {0, 1}, {0.1, 0.9}, {1, -1}, 2, 3);
  const torch::Tensor inputs = voxel_grid(e, 3, 0.0, 1.0).unsqueeze(0);
  const torch::Tensor mask = event_pixel_mask(inputs);
  ASSERT_EQ(mask.sizes(), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(mask.sum().item<float>(), 2.0f);
  EXPECT_EQ(mask[0][0][1].item<float>(), 1.0f);
  EXPECT_EQ(mask[0][1][2].item<float>(), 1.0f);
}

TEST(EventRepr, RepresentationNamesRoundTrip) {
  for (const std::string& name : event_representation_names()) {
    EXPECT_EQ(event_representation_names()[static_cast<size_t>(parse_event_representation(name))],
              name);
  }
  EXPECT_THROW(parse_event_representation("histogram"), std::invalid_argument);
}

TEST(FlowDataset, DenseFloatTargetsAreLegalAndChecked) {
  const torch::Tensor inputs = torch::zeros({4, 2, 2, 5, 6});
  torch::Tensor flow = torch::randn({4, 2, 5, 6});
  torch::Tensor valid = torch::ones({4, 5, 6});
  valid[1][2][3] = 0;
  flow[1][0][2][3] = std::numeric_limits<float>::quiet_NaN();  // invalid: must not leak
  const Dataset d = flow_dataset(inputs, flow, valid, "toy flow");
  d.check();
  ASSERT_EQ(d.targets.sizes(), (std::vector<int64_t>{4, 3, 5, 6}));
  EXPECT_EQ(d.targets[1][kFlowValid][2][3].item<float>(), 0.0f);
  EXPECT_EQ(d.targets[1][kFlowU][2][3].item<float>(), 0.0f);
  EXPECT_EQ(d.targets[2][kFlowV][1][1].item<float>(), flow[2][1][1][1].item<float>());
  EXPECT_EQ(d.num_classes, 0);
  const Dataset s = d.subset(std::vector<int64_t>{3, 0});
  EXPECT_TRUE(torch::equal(s.targets[0], d.targets[3]));

  flow[0][1][0][0] = std::numeric_limits<float>::infinity();  // valid there: an error
  EXPECT_THROW(flow_dataset(inputs, flow, valid, "toy flow"), std::invalid_argument);
  EXPECT_THROW(flow_dataset(inputs, torch::zeros({3, 2, 5, 6}), valid, "toy"),
               std::invalid_argument);

  Dataset bad = d;
  bad.targets = torch::zeros({4, 3}, torch::kInt64);  // class ids must stay [N]
  bad.num_classes = 2;
  EXPECT_THROW(bad.check(), std::invalid_argument);
  bad.targets = torch::zeros({5, 3, 5, 6});
  EXPECT_THROW(bad.check(), std::invalid_argument);
}

}  // namespace
}  // namespace lowbit::data
