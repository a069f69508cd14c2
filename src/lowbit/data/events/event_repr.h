// Dense tensors from event streams, as spiking and conventional flow networks read them: a voxel
// grid (events spread bilinearly over time bins) and per-step count images. Channel 0 of the
// polarity axis counts ON (+1) events, channel 1 OFF (-1) events.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "lowbit/data/events/events.h"

namespace lowbit::data {

/// How events become a [T, 2, H, W] tensor.
enum class EventRepresentation {
  kVoxelGrid,  ///< Bilinear in time: an event splits its unit weight between the two nearest bins.
  kCounts,     ///< Per-step count images: an event adds 1 to the bin its time falls into.
};

/// Names of the representations in config order: "voxel_grid", "counts".
const std::vector<std::string>& event_representation_names();

/// The representation named `name` (one of event_representation_names()).
EventRepresentation parse_event_representation(const std::string& name);

/// Voxel grid float32 [time_bins, 2, H, W] of the events with t_begin <= t <= t_end: an event
/// at normalized time tau = (time_bins - 1) (t - t_begin) / (t_end - t_begin) adds 1 - |tau - b|
/// to bins b = floor(tau) and floor(tau) + 1 of its pixel and polarity channel, so each event
/// adds exactly 1 over the bins. Events outside the interval are ignored. Needs t_end > t_begin.
torch::Tensor voxel_grid(const EventStream& events, int64_t time_bins, double t_begin,
                         double t_end);

/// Count images float32 [time_bins, 2, H, W]: bin b counts the events with
/// b <= time_bins (t - t_begin) / (t_end - t_begin) < b + 1 (t == t_end goes to the last bin).
torch::Tensor count_images(const EventStream& events, int64_t time_bins, double t_begin,
                           double t_end);

/// voxel_grid or count_images, as `kind` says.
torch::Tensor event_tensor(const EventStream& events, EventRepresentation kind, int64_t time_bins,
                           double t_begin, double t_end);

/// Pixels that saw events: float32 [N, H, W], 1 where any bin or polarity of `inputs`
/// [N, T, 2, H, W] is non-zero, else 0 (the "pixels with events" mask of flow metrics).
torch::Tensor event_pixel_mask(const torch::Tensor& inputs);

}  // namespace lowbit::data
