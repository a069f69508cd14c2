#include "lowbit/data/idx.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <vector>

#include "lowbit/data/gzip_file.h"
#include "lowbit/util/atomic_file.h"

namespace lowbit::data {
namespace {

constexpr uint32_t kImageMagic = 0x00000803;
constexpr uint32_t kLabelMagic = 0x00000801;

uint32_t read_be32(const std::string& bytes, size_t offset) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data()) + offset;
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08X", v);
  return buf;
}

// Checks the magic and total size, and returns the dimensions from the header.
std::vector<int64_t> parse_header(const std::string& path, const std::string& bytes, uint32_t magic,
                                  const char* what) {
  const size_t dims = magic & 0xFF;
  const size_t header = 4 + 4 * dims;
  if (bytes.size() < 4) {
    throw util::FileError(path + ": file too short for an IDX magic number (expected " + what +
                          ", magic " + hex32(magic) + ")");
  }
  const uint32_t got = read_be32(bytes, 0);
  if (got != magic) {
    throw util::FileError(path + ": wrong magic number " + hex32(got) + " (expected " +
                          hex32(magic) + " for IDX " + what + ")");
  }
  if (bytes.size() < header) {
    throw util::FileError(path + ": truncated IDX header (expected " + std::to_string(header) +
                          " bytes, file has " + std::to_string(bytes.size()) + ")");
  }
  std::vector<int64_t> shape;
  size_t expected = header;
  size_t count = 1;
  for (size_t d = 0; d < dims; ++d) {
    const uint32_t n = read_be32(bytes, 4 + 4 * d);
    shape.push_back(n);
    count *= n;
  }
  expected += count;
  if (bytes.size() != expected) {
    throw util::FileError(path + ": " + (bytes.size() < expected ? "truncated" : "trailing") +
                          " data: header promises " + std::to_string(count) + " bytes of " + what +
                          " (file size " + std::to_string(expected) + "), file has " +
                          std::to_string(bytes.size()) + " bytes");
  }
  return shape;
}

torch::Tensor payload(const std::string& bytes, size_t header, const std::vector<int64_t>& shape) {
  torch::Tensor out = torch::empty(shape, torch::kUInt8);
  std::memcpy(out.data_ptr<uint8_t>(), bytes.data() + header, static_cast<size_t>(out.numel()));
  return out;
}

std::string find_file(const std::string& dir, const std::string& stem) {
  const std::filesystem::path base = std::filesystem::path(dir) / stem;
  for (const std::string& candidate : {base.string(), base.string() + ".gz"}) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(candidate, ec)) return candidate;
  }
  throw util::FileError(base.string() + "[.gz]: no such file (expected an IDX file in " + dir +
                        ")");
}

}  // namespace

torch::Tensor read_idx_images(const std::string& path) {
  const std::string bytes = read_maybe_gzipped(path);
  const auto shape = parse_header(path, bytes, kImageMagic, "images");
  return payload(bytes, 16, shape);
}

torch::Tensor read_idx_labels(const std::string& path) {
  const std::string bytes = read_maybe_gzipped(path);
  const auto shape = parse_header(path, bytes, kLabelMagic, "labels");
  return payload(bytes, 8, shape).to(torch::kInt64);
}

Dataset load_mnist_like(const std::string& dir, const std::string& split) {
  std::string prefix;
  if (split == "train") {
    prefix = "train";
  } else if (split == "test") {
    prefix = "t10k";
  } else {
    throw std::invalid_argument("load_mnist_like: split must be 'train' or 'test', got '" + split +
                                "'");
  }
  const std::string images_path = find_file(dir, prefix + "-images-idx3-ubyte");
  const std::string labels_path = find_file(dir, prefix + "-labels-idx1-ubyte");
  const torch::Tensor images = read_idx_images(images_path);
  const torch::Tensor labels = read_idx_labels(labels_path);
  if (images.size(0) != labels.size(0)) {
    throw util::FileError(images_path + " has " + std::to_string(images.size(0)) + " images but " +
                          labels_path + " has " + std::to_string(labels.size(0)) +
                          " labels (expected equal counts)");
  }
  Dataset out;
  out.inputs = images.unsqueeze(1).to(torch::kFloat32).div_(255.0f);
  out.targets = labels;
  out.name = dir + ":" + split;
  out.num_classes =
      labels.numel() > 0 ? std::max<int64_t>(10, labels.max().item<int64_t>() + 1) : 10;
  return out;
}

}  // namespace lowbit::data
