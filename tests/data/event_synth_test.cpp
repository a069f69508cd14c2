#include "lowbit/data/events/event_synth.h"

#include <gtest/gtest.h>

#include <cmath>

#include "lowbit/data/events/event_flow.h"
#include "lowbit/data/events/event_repr.h"

namespace lowbit::data {
namespace {

EventSynthOptions translation_only(double min_speed, double max_speed) {
  EventSynthOptions o;
  o.motions = {MotionKind::kTranslation};
  o.min_speed = min_speed;
  o.max_speed = max_speed;
  return o;
}

// Events per pixel (all polarities) as float32 [H, W].
torch::Tensor events_per_pixel(const EventSample& s) {
  return count_images(s.events, 1, 0.0, 1.0).sum(std::vector<int64_t>{0, 1});
}

TEST(EventSynth, SameSeedSameSampleOtherSeedOtherSample) {
  EventSynthOptions o;
  o.noise_rate = 0.1;
  const EventSample a = generate_event_sample(o, 3);
  const EventSample b = generate_event_sample(o, 3);
  ASSERT_GT(a.events.size(), 0);
  ASSERT_EQ(a.events.size(), b.events.size());
  EXPECT_TRUE(torch::equal(a.events.t, b.events.t));
  EXPECT_TRUE(torch::equal(a.events.x, b.events.x));
  EXPECT_TRUE(torch::equal(a.events.p, b.events.p));
  EXPECT_TRUE(torch::equal(a.flow, b.flow));
  const EventSample other_index = generate_event_sample(o, 4);
  o.seed = 2;
  const EventSample other_seed = generate_event_sample(o, 3);
  for (const EventSample* c : {&other_index, &other_seed}) {
    EXPECT_FALSE(c->events.size() == a.events.size() && torch::equal(c->events.t, a.events.t));
    EXPECT_FALSE(torch::equal(c->log_begin, a.log_begin));
  }
}

TEST(EventSynth, EventStatisticsFitTheContrastThreshold) {
  EventSynthOptions o;
  double per_pixel_02 = 0, active = 0, per_pixel_01 = 0;
  const int samples = 6;
  for (int i = 0; i < samples; ++i) {
    const EventSample s = generate_event_sample(o, static_cast<uint64_t>(i));
    s.events.check();
    const torch::Tensor counts = events_per_pixel(s);
    per_pixel_02 += counts.mean().item<double>() / samples;
    active += counts.gt(0).to(torch::kFloat32).mean().item<double>() / samples;
    // Each event is one step of C in the pixel's reference level, which starts within C/2 of
    // the log intensity and ends within C of it: |C * sum(p) - dL| <= 1.5 C at every pixel.
    const torch::Tensor signed_sum = count_images(s.events, 1, 0.0, 1.0)[0];
    const torch::Tensor net = (signed_sum[0] - signed_sum[1]) * o.contrast_threshold;
    const torch::Tensor change = (s.log_end - s.log_begin).to(torch::kFloat32);
    EXPECT_LE((net - change).abs().max().item<double>(), 1.5 * o.contrast_threshold + 1e-4);
  }
  // A few events per pixel for displacements of 0.5..4 px over a texture whose log intensity
  // varies by ~0.2 per pixel, and most pixels see some.
  EXPECT_GT(per_pixel_02, 0.8);
  EXPECT_LT(per_pixel_02, 15.0);
  EXPECT_GT(active, 0.35);
  o.contrast_threshold = 0.1;
  for (int i = 0; i < samples; ++i) {
    per_pixel_01 +=
        events_per_pixel(generate_event_sample(o, static_cast<uint64_t>(i))).mean().item<double>() /
        samples;
  }
  // Halving C gives about twice the events (the same scenes: the seed fixes them), a little
  // more since a change of D fires about D / C - 1/2 events from a random reference level.
  EXPECT_GT(per_pixel_01 / per_pixel_02, 1.6);
  EXPECT_LT(per_pixel_01 / per_pixel_02, 3.0);
}

TEST(EventSynth, TranslationFlowIsTheVelocityEverywhereValid) {
  const EventSynthOptions o = translation_only(1.0, 6.0);
  for (uint64_t i = 0; i < 5; ++i) {
    const EventSample s = generate_event_sample(o, i);
    ASSERT_EQ(s.motion, MotionKind::kTranslation);
    const double u = s.velocity[0], v = s.velocity[1];
    const double speed = std::hypot(u, v);
    EXPECT_GE(speed, 1.0);
    EXPECT_LE(speed, 6.0);
    EXPECT_TRUE(s.flow[0].eq(static_cast<float>(u)).all().item<bool>());
    EXPECT_TRUE(s.flow[1].eq(static_cast<float>(v)).all().item<bool>());
    // Valid exactly where the scene point stays in the frame after the displacement.
    const int64_t h = o.height, w = o.width;
    int64_t mismatches = 0;
    for (int64_t y = 0; y < h; ++y) {
      for (int64_t x = 0; x < w; ++x) {
        const bool inside = x + u >= 0 && x + u <= w - 1 && y + v >= 0 && y + v <= h - 1;
        mismatches += (s.valid[y][x].item<float>() == 1.0f) != inside;
      }
    }
    EXPECT_EQ(mismatches, 0);
    EXPECT_GT(s.valid.sum().item<double>(), 0.8 * static_cast<double>(h * w));
  }
}

TEST(EventSynth, RotationAndZoomFlowVariesInSpaceWithinTheSpeedRange) {
  for (MotionKind kind : {MotionKind::kRotation, MotionKind::kZoom}) {
    EventSynthOptions o;
    o.motions = {kind};
    o.min_speed = 2.0;
    o.max_speed = 5.0;
    const EventSample s = generate_event_sample(o, 1);
    ASSERT_EQ(s.motion, kind);
    const torch::Tensor magnitude = s.flow.pow(2).sum(0).sqrt();
    EXPECT_LE(magnitude.max().item<double>(), 5.0 + 1e-4);
    EXPECT_GE(magnitude.max().item<double>(), 2.0 - 1e-4);
    EXPECT_LT(magnitude.min().item<double>(), 0.5 * magnitude.max().item<double>());
    if (kind == MotionKind::kRotation) {
      // A rotation's flow field (small angles) is divergence-free, a zoom's curl-free; check the
      // rotation's flow is perpendicular to its neighbour differences' symmetric part: du/dx ~ 0.
      const torch::Tensor du_dx = s.flow[0].slice(1, 1) - s.flow[0].slice(1, 0, -1);
      EXPECT_LT(du_dx.abs().max().item<double>(), 0.05);
    } else {
      const torch::Tensor du_dy = s.flow[0].slice(0, 1) - s.flow[0].slice(0, 0, -1);
      EXPECT_LT(du_dy.abs().max().item<double>(), 1e-4);
    }
  }
}

// Pearson correlation of two equally shaped tensors.
double correlation(const torch::Tensor& a, const torch::Tensor& b) {
  const torch::Tensor x = a.to(torch::kFloat64) - a.to(torch::kFloat64).mean();
  const torch::Tensor y = b.to(torch::kFloat64) - b.to(torch::kFloat64).mean();
  return (x * y).sum().item<double>() /
         std::sqrt((x * x).sum().item<double>() * (y * y).sum().item<double>() + 1e-12);
}

TEST(EventSynth, EventsMoveWithTheFlow) {
  // The first quarter's events, shifted by the flow over 3/4 of the window (bin centres 1/8 and
  // 7/8), match the last quarter's much better than unshifted.
  const EventSynthOptions o = translation_only(4.0, 8.0);
  for (uint64_t i = 0; i < 4; ++i) {
    const EventSample s = generate_event_sample(o, i);
    const torch::Tensor c = count_images(s.events, 4, 0.0, 1.0);
    const torch::Tensor first = c[0][0] - c[0][1], last = c[3][0] - c[3][1];
    const auto dx = static_cast<int64_t>(std::llround(0.75 * s.velocity[0]));
    const auto dy = static_cast<int64_t>(std::llround(0.75 * s.velocity[1]));
    const int64_t m = 8;  // crop the borders the roll wraps around
    const auto crop = [&](const torch::Tensor& t) {
      return t.slice(0, m, o.height - m).slice(1, m, o.width - m);
    };
    const double shifted = correlation(crop(torch::roll(first, {dy, dx}, {0, 1})), crop(last));
    const double unshifted = correlation(crop(first), crop(last));
    EXPECT_GT(shifted, 0.3) << "sample " << i;
    EXPECT_GT(shifted, unshifted + 0.2) << "sample " << i;
  }
}

TEST(EventSynth, NoiseAddsUniformEventsAtTheRate) {
  EventSynthOptions o;
  const EventSample clean = generate_event_sample(o, 2);
  o.noise_rate = 0.5;
  const EventSample noisy = generate_event_sample(o, 2);
  // Noise is drawn after the signal, so the signal events are the same; Poisson(2048) extra.
  const double extra = static_cast<double>(noisy.events.size() - clean.events.size());
  const double mean = 0.5 * static_cast<double>(o.height * o.width);
  EXPECT_NEAR(extra, mean, 5.0 * std::sqrt(mean));
  noisy.events.check();
}

TEST(EventSynth, RefractoryPeriodSeparatesEventsOfAPixel) {
  EventSynthOptions o = translation_only(4.0, 6.0);
  const EventSample free = generate_event_sample(o, 5);
  o.refractory = 0.2;
  const EventSample s = generate_event_sample(o, 5);
  EXPECT_LT(s.events.size(), free.events.size());
  std::vector<double> last(static_cast<size_t>(o.height * o.width), -1.0);
  const auto xs = s.events.x.to(torch::kLong), ys = s.events.y.to(torch::kLong);
  double closest = 1.0;
  for (int64_t e = 0; e < s.events.size(); ++e) {
    const auto pixel = static_cast<size_t>(ys[e].item<int64_t>() * o.width + xs[e].item<int64_t>());
    const double t = s.events.t[e].item<double>();
    if (last[pixel] >= 0) closest = std::min(closest, t - last[pixel]);
    last[pixel] = t;
  }
  EXPECT_GE(closest, 0.2);
}

TEST(EventSynth, BadOptionsNameTheField) {
  EventSynthOptions o;
  o.max_speed = 40;  // above a quarter of 64
  try {
    generate_event_sample(o, 0);
    FAIL() << "expected invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("max_speed"), std::string::npos) << e.what();
  }
  o = EventSynthOptions{};
  o.contrast_threshold = 0;
  ASSERT_TRUE(event_synth_problem(o));
  EXPECT_EQ(event_synth_problem(o)->first, "contrast_threshold");
  o = EventSynthOptions{};
  o.motions.clear();
  EXPECT_EQ(event_synth_problem(o)->first, "motions");
  EXPECT_THROW(parse_motion_kind("spin"), std::invalid_argument);
}

TEST(EventSynth, FlowDataSetHoldsTheSamplesInOrder) {
  EventSynthOptions o;
  o.height = 32;
  o.width = 40;
  o.max_speed = 3.0;
  const Dataset d = generate_event_flow(o, 5, 4, EventRepresentation::kVoxelGrid, "synthetic");
  d.check();
  ASSERT_EQ(d.inputs.sizes(), (std::vector<int64_t>{5, 4, 2, 32, 40}));
  ASSERT_EQ(d.targets.sizes(), (std::vector<int64_t>{5, 3, 32, 40}));
  for (int64_t i = 0; i < 5; ++i) {
    const EventSample s = generate_event_sample(o, static_cast<uint64_t>(i));
    EXPECT_TRUE(torch::equal(d.inputs[i], voxel_grid(s.events, 4, 0.0, 1.0)));
    EXPECT_NEAR(d.inputs[i].sum().item<double>(), static_cast<double>(s.events.size()), 0.05);
    EXPECT_TRUE(torch::equal(d.targets[i].slice(0, 0, 2), s.flow * s.valid));
    EXPECT_TRUE(torch::equal(d.targets[i][kFlowValid], s.valid));
  }
  const Dataset counts = generate_event_flow(o, 2, 4, EventRepresentation::kCounts, "synthetic");
  EXPECT_TRUE(counts.inputs.eq(counts.inputs.round()).all().item<bool>());
}

}  // namespace
}  // namespace lowbit::data
