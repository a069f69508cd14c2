// Optical-flow data sets from events: inputs are event tensors [N, T, 2, H, W], targets the
// ground-truth flow with its validity, [N, 3, H, W] = (u, v, valid).
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <string>

#include "lowbit/data/dataset.h"
#include "lowbit/data/events/event_repr.h"
#include "lowbit/data/events/events.h"

namespace lowbit::data {

/// Channels of a flow target: u (pixels along x), v (pixels along y), valid (1 or 0).
inline constexpr int64_t kFlowTargetChannels = 3;
/// Channel of u in flow targets.
inline constexpr int64_t kFlowU = 0;
/// Channel of v in flow targets.
inline constexpr int64_t kFlowV = 1;
/// Channel of the validity mask in flow targets.
inline constexpr int64_t kFlowValid = 2;

/// Flow targets float32 [N, 3, H, W] from flow [N, 2, H, W] and valid [N, H, W] (any non-zero
/// counts as valid; stored as 1). Where valid is 0 the flow is stored as 0, so NaN or infinite
/// ground truth outside the mask never reaches a loss.
torch::Tensor flow_targets(const torch::Tensor& flow, const torch::Tensor& valid);

/// A flow Dataset: inputs float32 [N, T, 2, H, W], targets flow_targets(flow, valid),
/// num_classes 0. Throws std::invalid_argument naming `name` when the shapes disagree or valid
/// flow is not finite.
Dataset flow_dataset(const torch::Tensor& inputs, const torch::Tensor& flow,
                     const torch::Tensor& valid, const std::string& name);

/// Events of a recording between two times, [t_begin, t_end).
using EventReader = std::function<EventStream(double t_begin, double t_end)>;

/// A flow Dataset from a recording: sample i holds the events of window i (windows float64
/// [M, 2] of (t_begin, t_end), in the recording's time unit) as `representation` over
/// `time_steps` bins, and the flow [M, 2, H, W] with validity [M, H, W] over that window.
/// The events must come from a sensor of the flow's size.
Dataset event_flow_dataset(const EventReader& events, const torch::Tensor& windows,
                           const torch::Tensor& flow, const torch::Tensor& valid,
                           int64_t time_steps, EventRepresentation representation,
                           const std::string& name);

}  // namespace lowbit::data
