// Ground-truth optical flow files of event data sets (MVSEC's *_gt_flow_dist.npz, DSEC's 16-bit
// PNGs and timestamp lists) and lowbit's plain NPZ form of an event recording with its flow.
#pragma once

#include <torch/types.h>

#include <string>

#include "lowbit/data/events/events.h"

namespace lowbit::data {

/// One dense flow field.
struct FlowFrame {
  torch::Tensor flow;   ///< float32 [2, H, W]: u (along x), v (along y), pixels.
  torch::Tensor valid;  ///< float32 [H, W]: 1 where the ground truth is valid, else 0.
};

/// A DSEC flow PNG (16-bit RGB): u = (R - 2^15) / 128, v = (G - 2^15) / 128, valid = (B != 0).
/// Throws util::FileError naming the file (see read_png_rgb16).
FlowFrame read_dsec_flow_png(const std::string& path);

/// DSEC's `forward_timestamps.txt`: a '#' comment line, then one "from_us, to_us" line per flow
/// map. Returns int64 [M, 2]; throws util::FileError naming file and line for a bad line or a
/// window with to_us <= from_us.
torch::Tensor read_dsec_flow_timestamps(const std::string& path);

/// Ground truth of an MVSEC sequence.
struct MvsecFlow {
  torch::Tensor timestamps;  ///< float64 [M]: seconds, increasing.
  torch::Tensor flow;        ///< float32 [M, 2, H, W]: displacement from timestamps[i] to [i + 1].
  torch::Tensor valid;       ///< float32 [M, H, W]: 1 where the flow is finite and non-zero.
};

/// An MVSEC `*_gt_flow_dist.npz`: timestamps [M], x_flow_dist and y_flow_dist [M, H, W]. MVSEC
/// writes 0 where depth (so flow) is unknown, hence valid = finite and (u, v) != (0, 0). Throws
/// util::FileError naming the file and the key for a missing key, a wrong shape, or timestamps
/// that are not finite and increasing.
MvsecFlow read_mvsec_flow(const std::string& path);

/// The flow windows of MVSEC ground truth: float64 [M - 1, 2] = (timestamps[i],
/// timestamps[i + 1]), paired with flow[0..M-2] (the last map has no end time).
torch::Tensor mvsec_flow_windows(const MvsecFlow& gt);

/// An event recording with ground-truth flow over time windows.
struct EventFlowRecording {
  EventStream events;     ///< All events, sorted by time.
  torch::Tensor windows;  ///< float64 [M, 2]: (t_begin, t_end) of each flow map.
  torch::Tensor flow;     ///< float32 [M, 2, H, W].
  torch::Tensor valid;    ///< float32 [M, H, W].
};

/// lowbit's plain NPZ form: x, y (integers), t (seconds or any unit the windows share), p
/// (-1/0/+1; 0 and -1 mean OFF), all [N]; flow [M, 2, H, W]; windows [M, 2]; optional valid
/// [M, H, W] (default: finite flow). The sensor is H x W. Throws util::FileError naming the file
/// and the key for a missing key, a wrong shape or dtype, events outside the sensor, unsorted
/// times or windows with t_end <= t_begin.
EventFlowRecording read_event_flow_npz(const std::string& path);

}  // namespace lowbit::data
