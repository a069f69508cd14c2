// The `augment:` key of a `data:` section: random flips, crops and affine transforms applied to
// every training batch (never to validation or test data).
#pragma once

#include <optional>

#include "lowbit/config/config_reader.h"
#include "lowbit/data/loader.h"
#include "lowbit/data/transforms.h"

namespace lowbit::train {

/// Reads `augment: {hflip: P, crop_padding: N, affine: {degrees, translate, scale: [lo, hi]}}`
/// under `data_node`; nothing when the key is absent. Unknown keys and out-of-range values are
/// ConfigErrors.
std::optional<data::AugmentOptions> read_augment(const config::ConfigNode& data_node);

/// A Loader transform applying data::augment to each batch's inputs with a generator seeded by
/// the batch seed, so a run repeats exactly under the same loader seed.
data::BatchTransform augment_transform(const data::AugmentOptions& options);

}  // namespace lowbit::train
