#include "lowbit/data/files/cifar.h"

#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <vector>

#include "lowbit/data/files/gzip_file.h"
#include "lowbit/util/atomic_file.h"

namespace lowbit::data {

Dataset read_cifar10_batch(const std::string& path) {
  const std::string bytes = read_maybe_gzipped(path);
  const auto size = static_cast<int64_t>(bytes.size());
  if (size == 0) throw util::FileError(path + ": empty file (expected CIFAR-10 records)");
  if (size % kCifarRecordBytes != 0) {
    throw util::FileError(path + ": truncated record " + std::to_string(size / kCifarRecordBytes) +
                          ": file size " + std::to_string(size) + " is not a multiple of " +
                          std::to_string(kCifarRecordBytes) + " bytes per CIFAR-10 record");
  }
  const int64_t n = size / kCifarRecordBytes;
  torch::Tensor pixels = torch::empty({n, 3, 32, 32}, torch::kUInt8);
  torch::Tensor labels = torch::empty({n}, torch::kInt64);
  auto* pix = pixels.data_ptr<uint8_t>();
  auto* lab = labels.data_ptr<int64_t>();
  const auto* src = reinterpret_cast<const uint8_t*>(bytes.data());
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t* record = src + i * kCifarRecordBytes;
    if (record[0] > 9) {
      throw util::FileError(path + ": record " + std::to_string(i) + " has label " +
                            std::to_string(record[0]) + " (expected 0..9)");
    }
    lab[i] = record[0];
    std::memcpy(pix + i * (kCifarRecordBytes - 1), record + 1, kCifarRecordBytes - 1);
  }
  Dataset out;
  out.inputs = pixels.to(torch::kFloat32).div_(255.0f);
  out.targets = labels;
  out.name = path;
  out.num_classes = 10;
  return out;
}

Dataset load_cifar10(const std::string& dir, const std::string& split) {
  std::vector<std::string> files;
  const std::filesystem::path base(dir);
  if (split == "train") {
    for (int k = 1; k <= 5; ++k) {
      const std::string file = (base / ("data_batch_" + std::to_string(k) + ".bin")).string();
      std::error_code ec;
      if (k == 1 || std::filesystem::is_regular_file(file, ec)) files.push_back(file);
    }
  } else if (split == "test") {
    files.push_back((base / "test_batch.bin").string());
  } else {
    throw std::invalid_argument("load_cifar10: split must be 'train' or 'test', got '" + split +
                                "'");
  }
  std::vector<torch::Tensor> inputs;
  std::vector<torch::Tensor> targets;
  for (const auto& file : files) {
    Dataset part = read_cifar10_batch(file);
    inputs.push_back(part.inputs);
    targets.push_back(part.targets);
  }
  Dataset out;
  out.inputs = torch::cat(inputs, 0);
  out.targets = torch::cat(targets, 0);
  out.name = dir + ":" + split;
  out.num_classes = 10;
  return out;
}

}  // namespace lowbit::data
