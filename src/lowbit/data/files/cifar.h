// CIFAR-10 binary batches: records of 1 label byte followed by 3072 pixel bytes (3x32x32, CHW).
#pragma once

#include <string>

#include "lowbit/data/dataset.h"

namespace lowbit::data {

/// Bytes per CIFAR-10 record: one label byte and 3 * 32 * 32 pixel bytes.
inline constexpr int64_t kCifarRecordBytes = 1 + 3 * 32 * 32;

/// Reads one batch file (gzipped or plain): inputs float32 [N, 3, 32, 32] in [0, 1], int64
/// targets, num_classes 10. Throws util::FileError naming the path on a missing or empty file, a
/// size that is not a whole number of records, or a label byte above 9.
Dataset read_cifar10_batch(const std::string& path);

/// Loads split "train" (`dir`/data_batch_1.bin .. data_batch_5.bin, those present, at least
/// the first) or "test" (`dir`/test_batch.bin), concatenated in file order.
Dataset load_cifar10(const std::string& dir, const std::string& split = "train");

}  // namespace lowbit::data
