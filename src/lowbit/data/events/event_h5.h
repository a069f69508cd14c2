// Event recordings in HDF5: the MVSEC layout (one [N, 4] float64 table of x, y, t, p) and the DSEC
// layout (events/x, events/y, events/t, events/p, t_offset, ms_to_idx). Both read windows of
// events by time without loading the whole recording, and check every event they return.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "lowbit/data/events/events.h"
#include "lowbit/data/files/hdf5_file.h"

namespace lowbit::data {

/// Rows of MVSEC's DAVIS 346 sensor.
inline constexpr int64_t kMvsecHeight = 260;
/// Columns of MVSEC's DAVIS 346 sensor.
inline constexpr int64_t kMvsecWidth = 346;
/// Rows of DSEC's event cameras (Prophesee Gen3.1).
inline constexpr int64_t kDsecHeight = 480;
/// Columns of DSEC's event cameras.
inline constexpr int64_t kDsecWidth = 640;

/// An MVSEC `*_data.hdf5` file: `dataset` is float64 [N, 4] with rows (x, y, t in seconds,
/// p in {-1, +1}; 0 is read as -1), sorted by t.
class MvsecEventFile {
 public:
  /// Opens `path` and checks the dataset's shape and type; throws util::FileError naming the
  /// file and the dataset otherwise.
  explicit MvsecEventFile(const std::string& path, int64_t height = kMvsecHeight,
                          int64_t width = kMvsecWidth,
                          const std::string& dataset = "davis/left/events");
  /// Number of events N.
  int64_t size() const { return size_; }
  /// Time of event i (seconds).
  double time_at(int64_t i) const;
  /// The first event index with time >= t (binary search, one small read per step).
  int64_t lower_bound(double t) const;
  /// Events begin..end-1, checked: integer coordinates inside the sensor, polarity -1, 0 or +1,
  /// finite non-decreasing times. Throws util::FileError naming file, dataset and event.
  EventStream read(int64_t begin, int64_t end) const;
  /// The events with t_begin <= t < t_end.
  EventStream read_between(double t_begin, double t_end) const;

 private:
  std::shared_ptr<H5File> file_;  ///< The open file.
  std::string dataset_;           ///< Path of the [N, 4] table.
  int64_t size_ = 0;              ///< N.
  int64_t height_, width_;        ///< Sensor size.
};

/// A DSEC `events.h5` file: events/x, events/y (integers), events/t (integer microseconds after
/// t_offset), events/p (0 or 1), all [N]; t_offset (scalar, microseconds); ms_to_idx [M], the
/// index of the first event at or after each millisecond. Times in EventStreams are absolute
/// seconds: (t + t_offset) / 1e6.
class DsecEventFile {
 public:
  /// Opens `path` and checks the datasets' shapes and types; throws util::FileError naming the
  /// file and the dataset otherwise.
  explicit DsecEventFile(const std::string& path, int64_t height = kDsecHeight,
                         int64_t width = kDsecWidth);
  /// Number of events N.
  int64_t size() const { return size_; }
  /// t_offset in microseconds.
  int64_t t_offset_us() const { return t_offset_; }
  /// The first event index whose absolute time (microseconds) is >= t_us: ms_to_idx narrows
  /// the search to one millisecond, then a binary search over events/t.
  int64_t lower_bound_us(int64_t t_us) const;
  /// Events begin..end-1, checked: coordinates inside the sensor, polarity 0 or 1 (read as -1,
  /// +1), non-decreasing times. Throws util::FileError naming file, dataset and event.
  EventStream read(int64_t begin, int64_t end) const;
  /// The events with t_begin <= t < t_end (absolute seconds, rounded to microseconds).
  EventStream read_between(double t_begin, double t_end) const;

 private:
  int64_t relative_time(int64_t i) const;
  std::shared_ptr<H5File> file_;  ///< The open file.
  int64_t size_ = 0;              ///< N.
  int64_t t_offset_ = 0;          ///< Microseconds added to events/t.
  int64_t ms_entries_ = 0;        ///< Length of ms_to_idx.
  int64_t height_, width_;        ///< Sensor size.
};

}  // namespace lowbit::data
