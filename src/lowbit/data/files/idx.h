// IDX files (the MNIST format): big-endian header, magic 0x0000 08 <dims>, then uint8 data.
#pragma once

#include <torch/types.h>

#include <string>

#include "lowbit/data/dataset.h"

namespace lowbit::data {

/// Reads an IDX image file (magic 0x00000803, gzipped or plain) as uint8 [N, H, W]. Throws
/// util::FileError naming the path on a missing file, wrong magic or a size mismatch.
torch::Tensor read_idx_images(const std::string& path);

/// Reads an IDX label file (magic 0x00000801, gzipped or plain) as int64 [N].
torch::Tensor read_idx_labels(const std::string& path);

/// Loads `dir`/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz] for split "train" or "test":
/// inputs float32 [N, 1, H, W] scaled to [0, 1], int64 class targets, num_classes = max label + 1
/// (at least 10). Throws util::FileError if a file is missing or image and label counts differ.
Dataset load_mnist_like(const std::string& dir, const std::string& split = "train");

/// Where the embedded default data set (Fashion-MNIST) lives.
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

}  // namespace lowbit::data
