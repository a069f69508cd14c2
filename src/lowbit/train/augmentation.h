// The `augment:` key of a `data:` section: random flips, crops and affine transforms applied to
// training batches (never to validation or test data), at the source resolution when the data
// are resized, to all samples or to a random share of them.
#pragma once

#include <optional>
#include <vector>

#include "lowbit/config/config_reader.h"
#include "lowbit/data/loader.h"
#include "lowbit/data/transforms.h"

namespace lowbit::train {

/// Reads `augment: {hflip: P, crop_padding: N, affine: {degrees, translate, scale: [lo, hi]},
/// fill: [raw values], probability: P, before_resize: B}` under `data_node`; nothing when the key
/// is absent. `fill` (default [0], black) is in raw pixel units; `probability` (default 1) is the
/// share of samples augmented; `before_resize` (default true) augments the source images before
/// the data's resize. Unknown keys and out-of-range values are ConfigErrors.
std::optional<data::AugmentOptions> read_augment(const config::ConfigNode& data_node);

/// The raw fill values (one, or one per channel) as normalize() with `mean` and `std` maps them,
/// per channel: the value the augmentations must bring in once the data is normalized.
std::vector<double> normalized_fill(const std::vector<double>& raw, const std::vector<double>& mean,
                                    const std::vector<double>& std);

/// A Loader transform that augments each batch with a generator seeded by the batch seed, so a
/// run repeats exactly under the same loader seed. It picks the samples to augment (each with
/// `probability`), augments them (their `source_images`, when set, then preprocessed) and leaves
/// the others as they were.
data::BatchTransform augment_transform(const data::AugmentOptions& options);

}  // namespace lowbit::train
