// Small image data sets for the command tests that train convolutional models.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>

#include "lowbit/data/files/npy.h"

namespace lowbit::cli::testing {

/// Writes `dir`/images.npy ({n, channels, side, side}, noise in [0, 0.3)) and `dir`/labels.npy
/// (i % classes): class c brightens quadrant c % 4 (left/right by c % 2, top/bottom by c / 2) of
/// colour plane c % channels by 1. Seeded, so every run writes the same files.
inline void write_quadrant_images(const std::string& dir, int64_t n, int64_t channels, int64_t side,
                                  int64_t classes, uint64_t seed) {
  torch::manual_seed(seed);
  torch::Tensor images = torch::rand({n, channels, side, side}) * 0.3;
  torch::Tensor labels = torch::arange(n) % classes;
  const int64_t half = side / 2;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = labels[i].item<int64_t>();
    images[i][c % channels]
        .slice(0, half * (c % 2), half * (c % 2) + half)
        .slice(1, half * (c / 2), half * (c / 2) + half) += 1;
  }
  data::write_npy(dir + "/images.npy", images);
  data::write_npy(dir + "/labels.npy", labels);
}

}  // namespace lowbit::cli::testing
