#include "lowbit/data/files/idx.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <vector>

#include "lowbit/data/files/gzip_file.h"
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

// Reads an IDX file: checks the magic, reads the dimensions, then the data. Memory follows the
// bytes the file really holds: a header that promises more than the file can contain (for gzip,
// 1032 bytes per compressed byte) is refused before any data is read, and the data is read in
// pieces, so a short gzip stream behind a large header costs no more than what it inflates to.
torch::Tensor read_idx(const std::string& path, uint32_t magic, const char* what) {
  MaybeGzippedReader reader(path);
  const size_t dims = magic & 0xFF;
  const size_t header = 4 + 4 * dims;
  std::string bytes;
  reader.read(bytes, 4);
  if (bytes.size() < 4) {
    throw util::FileError(path + ": file too short for an IDX magic number (expected " + what +
                          ", magic " + hex32(magic) + ")");
  }
  const uint32_t got = read_be32(bytes, 0);
  if (got != magic) {
    throw util::FileError(path + ": wrong magic number " + hex32(got) + " (expected " +
                          hex32(magic) + " for IDX " + what + ")");
  }
  reader.read(bytes, header - 4);
  if (bytes.size() < header) {
    throw util::FileError(path + ": truncated IDX header (expected " + std::to_string(header) +
                          " bytes, file has " + std::to_string(bytes.size()) + ")");
  }
  std::vector<int64_t> shape;
  std::string dims_text;
  uint64_t count = 1;
  bool overflow = false;
  for (size_t d = 0; d < dims; ++d) {
    const uint32_t n = read_be32(bytes, 4 + 4 * d);
    shape.push_back(n);
    dims_text += (d ? " x " : "") + std::to_string(n);
    overflow = overflow || __builtin_mul_overflow(count, uint64_t{n}, &count);
  }
  if (std::find(shape.begin(), shape.end(), 0) != shape.end()) {
    throw util::FileError(path + ": the IDX header declares " + dims_text + " " + what +
                          ": no data (expected at least one sample, every dimension above 0)");
  }
  const uint64_t room = reader.max_content() - std::min<uint64_t>(reader.max_content(), header);
  if (overflow || count > room) {
    throw util::FileError(path + ": the IDX header declares " + dims_text + " = " +
                          (overflow ? std::string("more than 2^64") : std::to_string(count)) +
                          " bytes of " + what + ", more than this " +
                          (reader.compressed() ? "gzip " : "") + "file of " +
                          std::to_string(reader.file_size()) + " bytes can hold (at most " +
                          std::to_string(room) + ")");
  }
  bytes.clear();
  bytes.reserve(std::min<uint64_t>(count, uint64_t{64} << 20));
  reader.read(bytes, count);
  std::string extra;
  const bool trailing = reader.read(extra, 1) > 0;
  if (bytes.size() != count || trailing) {
    throw util::FileError(path + ": " + (trailing ? "trailing" : "truncated") +
                          " data: header promises " + std::to_string(count) + " bytes of " + what +
                          " (file size " + std::to_string(header + count) + "), file has " +
                          (trailing ? "more than " + std::to_string(header + count)
                                    : std::to_string(header + bytes.size())) +
                          " bytes");
  }
  // The tensor takes over the bytes read, so the data is never held twice.
  auto owner = std::make_unique<std::string>(std::move(bytes));
  torch::Tensor out = torch::from_blob(
      owner->data(), shape, [held = owner.get()](void*) { delete held; }, torch::kUInt8);
  static_cast<void>(owner.release());
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
  return read_idx(path, kImageMagic, "images");
}

torch::Tensor read_idx_labels(const std::string& path) {
  return read_idx(path, kLabelMagic, "labels").to(torch::kInt64);
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
