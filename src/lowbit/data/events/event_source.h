// The `data:` section of a run for event-based optical flow (`source: events_synthetic`): the
// keys of the synthetic event camera, read here so that the run's data loader only dispatches.
#pragma once

#include <cstdint>
#include <string>

#include "lowbit/config/config_reader.h"
#include "lowbit/data/dataset.h"
#include "lowbit/data/events/event_repr.h"
#include "lowbit/data/events/event_synth.h"

namespace lowbit::data {

/// The `source` name of the synthetic event camera in `data:` sections.
inline constexpr const char* kEventsSyntheticSource = "events_synthetic";

/// The most bytes the inputs of a synthetic event data set may take (train and test together).
inline constexpr int64_t kMaxEventDataBytes = int64_t{8} << 30;

/// A `source: events_synthetic` section, read and checked.
struct EventSynthSource {
  EventSynthOptions options;  ///< The camera; options.seed fixes the training samples.
  int64_t time_steps = 5;     ///< T: time bins of each sample's event tensor.
  EventRepresentation representation = EventRepresentation::kVoxelGrid;  ///< Event tensor kind.
  int64_t train_samples = 512;  ///< Samples to split into training and validation.
  int64_t test_samples = 128;   ///< Samples of the test split (an independent random stream).
};

/// Reads the keys of a `source: events_synthetic` section: size [H, W], time_steps,
/// representation (voxel_grid, counts), train_samples, test_samples, contrast_threshold,
/// refractory, noise_rate, min_speed, max_speed, motions (list of translation, rotation, zoom),
/// substeps, blob_density, gratings, scene_contrast and seed (default `run_seed`). Leaves `source`
/// and the run's split keys (val_fraction, limit, ...) to the caller, which calls node.done().
/// Throws config::ConfigError naming the key (file, line) for a bad value.
EventSynthSource read_event_synth_source(const config::ConfigNode& node, uint64_t run_seed);

/// The training and the test data of a source.
struct TrainTestData {
  Dataset train;  ///< To be split into training and validation by the run.
  Dataset test;   ///< The test split.
};

/// The `source` name of recorded events with ground-truth flow in `data:` sections.
inline constexpr const char* kEventsFileSource = "events_file";

/// Reads a `source: events_file` section and loads its samples, one per flow map: `format`
/// (npz, mvsec, dsec), `events` (npz: the recording, flow included; mvsec: `*_data.hdf5`; dsec:
/// `events.h5`), `flow` (mvsec: `*_gt_flow_dist.npz`; dsec: the folder with
/// `forward_timestamps.txt` and the flow PNGs, paired in name order), `dataset` (mvsec, default
/// davis/left/events), `time_steps`, `representation`, `crop` [top, left, height, width]
/// (optional) and `max_samples` (0 = all). Returns one Dataset for the run to split. Throws
/// config::ConfigError naming the key, util::FileError naming the file.
Dataset load_event_file_source(const config::ConfigNode& node);

/// Generates the source's data: train_samples from the stream of options.seed, test_samples from
/// an independent stream derived from it (so changing train_samples leaves the test set alone).
/// Inputs float32 [N, T, 2, H, W], targets float32 [N, 3, H, W] (event_flow.h).
TrainTestData load_event_synth(const EventSynthSource& source);

}  // namespace lowbit::data
