// Event-camera data: a stream of events (x, y, t, polarity) as a dynamic vision sensor emits them,
// one per pixel whose log intensity changed by the contrast threshold. Physics: docs/data.md.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>

namespace lowbit::data {

/// Events in time order, one element per event in each tensor.
struct EventStream {
  torch::Tensor x;     ///< int16 [N]: column, 0..width-1.
  torch::Tensor y;     ///< int16 [N]: row, 0..height-1.
  torch::Tensor t;     ///< float64 [N]: time (seconds; synthetic: fraction of the window), sorted.
  torch::Tensor p;     ///< int8 [N]: +1 brighter (ON), -1 darker (OFF).
  int64_t height = 0;  ///< Sensor rows.
  int64_t width = 0;   ///< Sensor columns.
  std::string name;    ///< Where the events came from, for error messages.

  /// Number of events N.
  int64_t size() const { return t.defined() ? t.size(0) : 0; }
  /// Throws std::invalid_argument naming the stream unless dtypes, lengths, coordinates (inside
  /// the sensor), polarities (+1 or -1) and times (finite, non-decreasing) are valid.
  void check() const;
  /// Events begin..end-1 (tensors are views).
  EventStream slice(int64_t begin, int64_t end) const;
};

/// An empty stream of a height x width sensor.
EventStream empty_events(int64_t height, int64_t width, const std::string& name);

/// The events with t_begin <= t < t_end (a view; `events` must be sorted by time).
EventStream events_between(const EventStream& events, double t_begin, double t_end);

}  // namespace lowbit::data
