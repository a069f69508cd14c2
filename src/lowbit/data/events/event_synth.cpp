#include "lowbit/data/events/event_synth.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "lowbit/data/events/event_flow.h"
#include "lowbit/data/rng.h"

namespace lowbit::data {
namespace {

// Texture grid spacing in pixels: finer than the smallest blob (sigma 1.5 px) and grating
// (wavelength 6 px), so bilinear lookups of the grid follow the continuous texture closely.
constexpr double kGridStep = 0.5;
// Intensity range: log intensity lies in [log 0.05, 0] = [-3.0, 0], a 20:1 scene contrast.
constexpr double kMinIntensity = 0.05;

// A motion as the map from a pixel at time t back to the scene point it sees (the scene is the
// image at t = 0), and forward to where the point seen at t = 0 is at t = 1.
struct Motion {
  MotionKind kind = MotionKind::kTranslation;
  double vx = 0, vy = 0;  // translation, px per window
  double cx = 0, cy = 0;  // centre of rotation / zoom
  double rate = 0;        // rotation: angle per window (rad); zoom: log scale per window
  void scene_point(double x, double y, double t, double& sx, double& sy) const {
    switch (kind) {
      case MotionKind::kTranslation:
        sx = x - vx * t;
        sy = y - vy * t;
        return;
      case MotionKind::kRotation: {
        const double c = std::cos(rate * t), s = std::sin(rate * t);
        const double dx = x - cx, dy = y - cy;
        sx = cx + c * dx + s * dy;  // rotation by -rate * t
        sy = cy - s * dx + c * dy;
        return;
      }
      case MotionKind::kZoom: {
        const double f = std::exp(-rate * t);
        sx = cx + (x - cx) * f;
        sy = cy + (y - cy) * f;
        return;
      }
    }
  }
  void forward(double x, double y, double& fx, double& fy) const {
    switch (kind) {
      case MotionKind::kTranslation:
        fx = x + vx;
        fy = y + vy;
        return;
      case MotionKind::kRotation: {
        const double c = std::cos(rate), s = std::sin(rate);
        const double dx = x - cx, dy = y - cy;
        fx = cx + c * dx - s * dy;
        fy = cy + s * dx + c * dy;
        return;
      }
      case MotionKind::kZoom: {
        const double f = std::exp(rate);
        fx = cx + (x - cx) * f;
        fy = cy + (y - cy) * f;
        return;
      }
    }
  }
};

// Draws a motion whose largest displacement over the frame is uniform in [min, max] speed.
Motion draw_motion(const EventSynthOptions& o, Rng& rng) {
  Motion m;
  m.kind = o.motions[rng.below(o.motions.size())];
  const double d = rng.uniform(o.min_speed, o.max_speed);
  const double h = static_cast<double>(o.height - 1), w = static_cast<double>(o.width - 1);
  if (m.kind == MotionKind::kTranslation) {
    const double angle = rng.uniform(0.0, 2.0 * M_PI);
    m.vx = d * std::cos(angle);
    m.vy = d * std::sin(angle);
    return m;
  }
  // The centre lies in the middle half of the frame; r is its farthest distance to a corner.
  m.cx = rng.uniform(0.25 * w, 0.75 * w);
  m.cy = rng.uniform(0.25 * h, 0.75 * h);
  const double r = std::hypot(std::max(m.cx, w - m.cx), std::max(m.cy, h - m.cy));
  const double sign = rng.uniform() < 0.5 ? -1.0 : 1.0;
  if (m.kind == MotionKind::kRotation) {
    m.rate = sign * 2.0 * std::asin(std::min(1.0, d / (2.0 * r)));  // chord of the corner = d
  } else {
    m.rate = std::log(1.0 + sign * d / r);  // the corner moves radially by d
  }
  return m;
}

// Log intensity of the scene on a regular grid, looked up bilinearly.
struct Texture {
  double x0 = 0, y0 = 0;
  int64_t nx = 0, ny = 0;
  std::vector<float> log_i;
  double at(double x, double y) const {
    const double gx = std::clamp((x - x0) / kGridStep, 0.0, static_cast<double>(nx - 1) - 1e-9);
    const double gy = std::clamp((y - y0) / kGridStep, 0.0, static_cast<double>(ny - 1) - 1e-9);
    const auto ix = static_cast<int64_t>(gx), iy = static_cast<int64_t>(gy);
    const double fx = gx - static_cast<double>(ix), fy = gy - static_cast<double>(iy);
    const float* r0 = log_i.data() + iy * nx + ix;
    const float* r1 = r0 + nx;
    return (1 - fy) * ((1 - fx) * r0[0] + fx * r0[1]) + fy * ((1 - fx) * r1[0] + fx * r1[1]);
  }
};

// Random blobs and gratings over the frame plus a margin the motion can reveal.
Texture draw_texture(const EventSynthOptions& o, Rng& rng) {
  Texture tex;
  const double margin = 2.0 * o.max_speed + 4.0;
  tex.x0 = -margin;
  tex.y0 = -margin;
  const double span_x = static_cast<double>(o.width - 1) + 2 * margin;
  const double span_y = static_cast<double>(o.height - 1) + 2 * margin;
  tex.nx = static_cast<int64_t>(std::ceil(span_x / kGridStep)) + 1;
  tex.ny = static_cast<int64_t>(std::ceil(span_y / kGridStep)) + 1;
  std::vector<double> f(static_cast<size_t>(tex.nx * tex.ny), 0.0);
  const auto blobs = static_cast<int64_t>(std::llround(o.blob_density * span_x * span_y / 100.0));
  for (int64_t b = 0; b < blobs; ++b) {
    const double bx = rng.uniform(tex.x0, tex.x0 + span_x);
    const double by = rng.uniform(tex.y0, tex.y0 + span_y);
    const double sigma = rng.uniform(1.5, 5.0);
    const double amp = (rng.uniform() < 0.5 ? -1.0 : 1.0) * rng.uniform(0.6, 1.5);
    // Only within 3 sigma: beyond it the blob adds under 1 % of its amplitude.
    const double reach = 3.0 * sigma;
    const auto gx0 = std::max<int64_t>(0, static_cast<int64_t>((bx - reach - tex.x0) / kGridStep));
    const auto gx1 =
        std::min<int64_t>(tex.nx - 1, static_cast<int64_t>((bx + reach - tex.x0) / kGridStep) + 1);
    const auto gy0 = std::max<int64_t>(0, static_cast<int64_t>((by - reach - tex.y0) / kGridStep));
    const auto gy1 =
        std::min<int64_t>(tex.ny - 1, static_cast<int64_t>((by + reach - tex.y0) / kGridStep) + 1);
    for (int64_t gy = gy0; gy <= gy1; ++gy) {
      const double dy = tex.y0 + static_cast<double>(gy) * kGridStep - by;
      for (int64_t gx = gx0; gx <= gx1; ++gx) {
        const double dx = tex.x0 + static_cast<double>(gx) * kGridStep - bx;
        f[static_cast<size_t>(gy * tex.nx + gx)] +=
            amp * std::exp(-(dx * dx + dy * dy) / (2 * sigma * sigma));
      }
    }
  }
  for (int64_t g = 0; g < o.gratings; ++g) {
    const double wavelength = rng.uniform(6.0, 24.0);
    const double angle = rng.uniform(0.0, M_PI);
    const double phase = rng.uniform(0.0, 2.0 * M_PI);
    const double amp = rng.uniform(0.3, 0.8);
    const double kx = 2 * M_PI / wavelength * std::cos(angle);
    const double ky = 2 * M_PI / wavelength * std::sin(angle);
    for (int64_t gy = 0; gy < tex.ny; ++gy) {
      const double y = tex.y0 + static_cast<double>(gy) * kGridStep;
      for (int64_t gx = 0; gx < tex.nx; ++gx) {
        const double x = tex.x0 + static_cast<double>(gx) * kGridStep;
        f[static_cast<size_t>(gy * tex.nx + gx)] += amp * std::cos(kx * x + ky * y + phase);
      }
    }
  }
  tex.log_i.resize(f.size());
  for (size_t i = 0; i < f.size(); ++i) {
    const double intensity =
        kMinIntensity + (1 - kMinIntensity) / (1 + std::exp(-o.scene_contrast * f[i]));
    tex.log_i[i] = static_cast<float>(std::log(intensity));
  }
  return tex;
}

struct Event {
  double t;
  int16_t y, x;
  int8_t p;
  bool operator<(const Event& o) const {
    if (t != o.t) return t < o.t;
    if (y != o.y) return y < o.y;
    if (x != o.x) return x < o.x;
    return p < o.p;
  }
};

}  // namespace

const std::vector<std::string>& motion_kind_names() {
  static const std::vector<std::string> names = {"translation", "rotation", "zoom"};
  return names;
}

MotionKind parse_motion_kind(const std::string& name) {
  const auto& names = motion_kind_names();
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) return static_cast<MotionKind>(i);
  }
  throw std::invalid_argument("unknown motion '" + name +
                              "' (expected translation, rotation or zoom)");
}

std::optional<std::pair<std::string, std::string>> event_synth_problem(const EventSynthOptions& o) {
  using Problem = std::pair<std::string, std::string>;
  if (o.height < 8 || o.width < 8 || o.height > 4096 || o.width > 4096) {
    return Problem{"size", "expected [height, width] in 8..4096, got [" + std::to_string(o.height) +
                               ", " + std::to_string(o.width) + "]"};
  }
  if (!(o.contrast_threshold >= 0.01 && o.contrast_threshold <= 2.0)) {
    return Problem{"contrast_threshold", "expected 0.01..2 (log intensity)"};
  }
  if (!(o.refractory >= 0.0 && o.refractory <= 1.0)) {
    return Problem{"refractory", "expected 0..1 (fraction of the window)"};
  }
  if (!(o.noise_rate >= 0.0 && o.noise_rate <= 10.0)) {
    return Problem{"noise_rate", "expected 0..10 events per pixel per window"};
  }
  // The zoom draw needs the displacement below half the centre-to-corner distance (at least a
  // quarter of the smaller side), so the scene margin of 2 max_speed covers every look-up.
  const double limit = static_cast<double>(std::min(o.height, o.width)) / 4.0;
  if (!(o.max_speed > 0.0 && o.max_speed <= limit)) {
    return Problem{"max_speed", "expected > 0 and at most a quarter of the smaller side (" +
                                    std::to_string(limit) + " px)"};
  }
  if (!(o.min_speed >= 0.0 && o.min_speed <= o.max_speed)) {
    return Problem{"min_speed", "expected 0..max_speed"};
  }
  if (o.motions.empty()) return Problem{"motions", "expected at least one motion kind"};
  if (o.substeps < 0 || o.substeps > 1000) {
    return Problem{"substeps", "expected 0 (automatic) to 1000"};
  }
  if (!(o.blob_density >= 0.0 && o.blob_density <= 10.0)) {
    return Problem{"blob_density", "expected 0..10 blobs per 100 square pixels"};
  }
  if (o.gratings < 0 || o.gratings > 16) return Problem{"gratings", "expected 0..16"};
  if (!(o.scene_contrast >= 0.1 && o.scene_contrast <= 20.0)) {
    return Problem{"scene_contrast", "expected 0.1..20"};
  }
  if (o.blob_density == 0.0 && o.gratings == 0) {
    return Problem{"gratings", "the scene needs blobs or gratings (both are 0)"};
  }
  return std::nullopt;
}

void check_event_synth_options(const EventSynthOptions& o) {
  if (const auto problem = event_synth_problem(o)) {
    throw std::invalid_argument("event camera option '" + problem->first + "': " + problem->second);
  }
}

EventSample generate_event_sample(const EventSynthOptions& o, uint64_t index) {
  check_event_synth_options(o);
  Rng rng(mix_seed(o.seed, index + 1));
  const Motion motion = draw_motion(o, rng);
  const Texture tex = draw_texture(o, rng);
  const int64_t h = o.height, w = o.width, pixels = h * w;
  const int64_t steps =
      o.substeps > 0 ? o.substeps
                     : std::max<int64_t>(8, static_cast<int64_t>(std::ceil(4.0 * o.max_speed)));
  const double c = o.contrast_threshold;

  EventSample s;
  s.motion = motion.kind;
  if (motion.kind == MotionKind::kTranslation) {
    s.velocity[0] = motion.vx;
    s.velocity[1] = motion.vy;
  }
  s.flow = torch::empty({2, h, w}, torch::kFloat32);
  s.valid = torch::empty({h, w}, torch::kFloat32);
  s.log_begin = torch::empty({h, w}, torch::kFloat32);
  s.log_end = torch::empty({h, w}, torch::kFloat32);
  float* flow = s.flow.data_ptr<float>();
  float* valid = s.valid.data_ptr<float>();
  for (int64_t y = 0; y < h; ++y) {
    for (int64_t x = 0; x < w; ++x) {
      double fx = 0, fy = 0;
      motion.forward(static_cast<double>(x), static_cast<double>(y), fx, fy);
      const int64_t i = y * w + x;
      flow[i] = static_cast<float>(fx - static_cast<double>(x));
      flow[pixels + i] = static_cast<float>(fy - static_cast<double>(y));
      valid[i] =
          fx >= 0 && fx <= static_cast<double>(w - 1) && fy >= 0 && fy <= static_cast<double>(h - 1)
              ? 1.0f
              : 0.0f;
    }
  }

  // Each pixel's reference level (log intensity at its last event) starts within C/2 of its
  // current level: the last event before the window is unknown, so its phase is random.
  std::vector<double> level(static_cast<size_t>(pixels)), ref(static_cast<size_t>(pixels));
  std::vector<double> last_event(static_cast<size_t>(pixels),
                                 -std::numeric_limits<double>::infinity());
  for (int64_t i = 0; i < pixels; ++i) {
    double sx = 0, sy = 0;
    motion.scene_point(static_cast<double>(i % w), static_cast<double>(i / w), 0.0, sx, sy);
    level[static_cast<size_t>(i)] = tex.at(sx, sy);
    ref[static_cast<size_t>(i)] = level[static_cast<size_t>(i)] + c * (rng.uniform() - 0.5);
  }
  float* log_begin = s.log_begin.data_ptr<float>();
  for (int64_t i = 0; i < pixels; ++i)
    log_begin[i] = static_cast<float>(level[static_cast<size_t>(i)]);

  std::vector<Event> events;
  for (int64_t k = 0; k < steps; ++k) {
    const double t0 = static_cast<double>(k) / static_cast<double>(steps);
    const double t1 = static_cast<double>(k + 1) / static_cast<double>(steps);
    for (int64_t i = 0; i < pixels; ++i) {
      const auto u = static_cast<size_t>(i);
      double sx = 0, sy = 0;
      motion.scene_point(static_cast<double>(i % w), static_cast<double>(i / w), t1, sx, sy);
      const double a = level[u], b = tex.at(sx, sy);
      level[u] = b;
      // The log intensity is linear between rendered frames, so each crossing of ref +- C gets
      // its time by interpolation; several crossings in one step give several events.
      const int8_t polarity = b > a ? 1 : -1;
      while (polarity * (b - ref[u]) >= c) {
        ref[u] += polarity * c;
        const double t = t0 + (ref[u] - a) / (b - a) * (t1 - t0);
        // Within the refractory period the pixel is still resetting: the change is lost.
        if (t - last_event[u] < o.refractory) continue;
        last_event[u] = t;
        events.push_back({t, static_cast<int16_t>(i / w), static_cast<int16_t>(i % w), polarity});
      }
    }
  }
  float* log_end = s.log_end.data_ptr<float>();
  for (int64_t i = 0; i < pixels; ++i)
    log_end[i] = static_cast<float>(level[static_cast<size_t>(i)]);

  // Noise: a Poisson process of rate noise_rate per pixel, at uniform pixels, random polarity.
  if (o.noise_rate > 0.0) {
    const double mean_gap = 1.0 / (o.noise_rate * static_cast<double>(pixels));
    for (double t = rng.exponential(mean_gap); t < 1.0; t += rng.exponential(mean_gap)) {
      const auto i = static_cast<int64_t>(rng.below(static_cast<uint64_t>(pixels)));
      const int8_t p = rng.uniform() < 0.5 ? -1 : 1;
      events.push_back({t, static_cast<int16_t>(i / w), static_cast<int16_t>(i % w), p});
    }
  }
  std::sort(events.begin(), events.end());

  const auto n = static_cast<int64_t>(events.size());
  s.events = empty_events(h, w,
                          "synthetic events (seed " + std::to_string(o.seed) + ", sample " +
                              std::to_string(index) + ")");
  s.events.x = torch::empty({n}, torch::kInt16);
  s.events.y = torch::empty({n}, torch::kInt16);
  s.events.t = torch::empty({n}, torch::kFloat64);
  s.events.p = torch::empty({n}, torch::kInt8);
  int16_t* ex = s.events.x.data_ptr<int16_t>();
  int16_t* ey = s.events.y.data_ptr<int16_t>();
  double* et = s.events.t.data_ptr<double>();
  int8_t* ep = s.events.p.data_ptr<int8_t>();
  for (int64_t e = 0; e < n; ++e) {
    const Event& ev = events[static_cast<size_t>(e)];
    ex[e] = ev.x;
    ey[e] = ev.y;
    et[e] = ev.t;
    ep[e] = ev.p;
  }
  return s;
}

Dataset generate_event_flow(const EventSynthOptions& o, int64_t count, int64_t time_steps,
                            EventRepresentation representation, const std::string& name) {
  check_event_synth_options(o);
  if (count < 1) throw std::invalid_argument("generate_event_flow: count must be >= 1");
  if (time_steps < 1) throw std::invalid_argument("generate_event_flow: time_steps must be >= 1");
  torch::Tensor inputs = torch::empty({count, time_steps, 2, o.height, o.width}, torch::kFloat32);
  torch::Tensor flow = torch::empty({count, 2, o.height, o.width}, torch::kFloat32);
  torch::Tensor valid = torch::empty({count, o.height, o.width}, torch::kFloat32);
  // One random stream per sample: the result does not depend on how threads split the range.
  at::parallel_for(0, count, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const EventSample s = generate_event_sample(o, static_cast<uint64_t>(i));
      inputs[i].copy_(event_tensor(s.events, representation, time_steps, 0.0, 1.0));
      flow[i].copy_(s.flow);
      valid[i].copy_(s.valid);
    }
  });
  return flow_dataset(inputs, flow, valid, name);
}

}  // namespace lowbit::data
