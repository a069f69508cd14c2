// A synthetic event camera with dense ground-truth optical flow: a random texture moves with a
// known motion (translation, rotation or zoom) during one time window; every pixel emits an event
// whenever its log intensity has changed by the contrast threshold since its last event.
// Physics and choices: docs/data.md ("Synthetic event camera").
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "lowbit/data/dataset.h"
#include "lowbit/data/events/event_repr.h"
#include "lowbit/data/events/events.h"

namespace lowbit::data {

/// How the scene moves during the window.
enum class MotionKind {
  kTranslation,  ///< Constant velocity: the same flow at every pixel.
  kRotation,     ///< Rotation about a point near the centre: flow grows with the distance to it.
  kZoom,         ///< Scaling about a point (towards or away from the camera): radial flow.
};

/// Names of the motion kinds in config order: "translation", "rotation", "zoom".
const std::vector<std::string>& motion_kind_names();

/// The motion kind named `name`; throws std::invalid_argument listing the names otherwise.
MotionKind parse_motion_kind(const std::string& name);

/// Settings of the synthetic event camera. Time is measured in windows: events lie in [0, 1],
/// flow is in pixels per window.
struct EventSynthOptions {
  int64_t height = 64;              ///< Sensor rows.
  int64_t width = 64;               ///< Sensor columns.
  double contrast_threshold = 0.2;  ///< C: log-intensity change per event.
  double refractory = 0.0;          ///< Dead time after an event, fraction of the window.
  double noise_rate = 0.0;          ///< Uniform noise events per pixel per window.
  double min_speed = 1.0;           ///< Smallest largest-displacement, pixels per window.
  double max_speed = 6.0;           ///< Largest displacement of any pixel, px per window.
  std::vector<MotionKind> motions = {MotionKind::kTranslation, MotionKind::kRotation,
                                     MotionKind::kZoom};  ///< Drawn uniformly per sample.
  int64_t substeps = 0;         ///< Rendered frames per window; 0: 4 per pixel of max_speed (>= 8).
  double blob_density = 1.0;    ///< Gaussian blobs per 100 square pixels of scene.
  double scene_contrast = 3.0;  ///< Slope of the texture-to-intensity sigmoid (edge sharpness).
  int64_t gratings = 2;         ///< Sinusoidal gratings added to the blobs.
  uint64_t seed = 1;            ///< Fixes every random draw.
};

/// One window of the synthetic camera.
struct EventSample {
  EventStream events;       ///< Events with t in [0, 1], sorted by time.
  torch::Tensor flow;       ///< float32 [2, H, W]: u (along x, columns), v (along y, rows), px.
  torch::Tensor valid;      ///< float32 [H, W]: 1 where the pixel's scene point stays in view.
  torch::Tensor log_begin;  ///< float32 [H, W]: log intensity at t = 0.
  torch::Tensor log_end;    ///< float32 [H, W]: log intensity at t = 1.
  MotionKind motion = MotionKind::kTranslation;  ///< The motion drawn for this sample.
  double velocity[2] = {0.0, 0.0};               ///< Translation: (u, v) of every pixel; else 0.
};

/// The first option out of its range: (field name as in the `data:` section, what is expected);
/// nothing when all are valid.
std::optional<std::pair<std::string, std::string>> event_synth_problem(
    const EventSynthOptions& options);

/// Throws std::invalid_argument naming the field when an option is out of its range.
void check_event_synth_options(const EventSynthOptions& options);

/// Sample `index` of the stream fixed by options.seed (independent of other indices).
EventSample generate_event_sample(const EventSynthOptions& options, uint64_t index);

/// A flow data set of `count` samples (indices 0..count-1): inputs float32 [N, T, 2, H, W]
/// (`representation` over T = time_steps bins of the window), targets float32 [N, 3, H, W] =
/// (u, v, valid) as flow_targets() lays them out. Samples are made in parallel; the result does
/// not depend on the thread count.
Dataset generate_event_flow(const EventSynthOptions& options, int64_t count, int64_t time_steps,
                            EventRepresentation representation, const std::string& name);

}  // namespace lowbit::data
