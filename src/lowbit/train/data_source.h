// The `data:` section of a run: which data set to load and how to split it into training,
// validation and test parts.
#pragma once

#include <cstdint>
#include <string>

#include "lowbit/config/config_reader.h"
#include "lowbit/data/dataset.h"
#include "lowbit/train/loss.h"
#include "lowbit/train/trainer.h"

namespace lowbit::train {

/// The `source` names accepted in `data:` sections.
const std::vector<std::string>& data_source_names();

/// Reads a `data:` section and loads its data. Keys: `source` (smartpix, smartpix_clusters,
/// mnist_like, cifar10, csv, npy, events_synthetic, events_file), the source's own keys,
/// `val_fraction` (default 0.1), `test_fraction` (sources without a test split; default 0.2),
/// `limit` (use only the first N training samples; 0 = all), `stratify` (default true for class
/// targets) and `augment` (see read_augment; image data only). Splits are fixed by `seed`.
StageData load_data(const config::ConfigNode& node, uint64_t seed);

/// Throws config::ConfigError naming the stage, the loss and the data when the targets do not suit
/// the loss: cross-entropy needs int64 class ids, the binary losses and MSE float targets.
void check_targets_for_loss(const data::Dataset& train, const LossConfig& loss,
                            const std::string& stage);

/// Features per sample: the product of the non-batch input dimensions.
int64_t input_features(const data::Dataset& dataset);

/// True for optical-flow targets: float [N, 3, H, W] = (u, v, valid) (data/events/event_flow.h).
bool has_flow_targets(const data::Dataset& dataset);

/// Outputs the model needs: num_classes for class targets, 2 (u, v) for flow targets, 1 for other
/// float targets.
int64_t model_outputs(const data::Dataset& dataset);

}  // namespace lowbit::train
