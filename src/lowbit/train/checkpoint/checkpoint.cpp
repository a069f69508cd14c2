#include "lowbit/train/checkpoint/checkpoint.h"

#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string_view>

#include "lowbit/util/atomic_file.h"
#include "lowbit/util/sha256.h"
#include "lowbit/util/zip_archive.h"

namespace lowbit::train {
namespace {

// A LibTorch archive (a zip file) checked before LibTorch parses it. Checkpoints of formats 1 and
// 2 have no lowbit header with a hash of their bytes, and LibTorch's reader neither checks the
// members' CRC-32s nor survives every damaged archive (a mutated best.pt crashed it, see
// docs/results.md, "Fuzzing"), so their damage has to be found here first. LibTorch writes no
// archive comment, stores its tensors and deflates only its small code files, so an archive that
// inflates to far more than its size is damaged.
void check_libtorch_archive(std::string_view bytes) {
  util::ZipOptions options;
  options.allow_comment = false;
  options.max_inflation_factor = 16;
  util::check_zip_archive(bytes, options);
}

// Tensors are stored by index with the names in a separate list, because archive keys must not
// contain the dots that module paths do.
void write_named_tensors(torch::serialize::OutputArchive& archive, const std::string& key,
                         const NamedTensors& tensors) {
  c10::List<std::string> names;
  torch::serialize::OutputArchive section;
  int64_t index = 0;
  for (const auto& item : tensors) {
    names.push_back(item.key());
    section.write("t" + std::to_string(index++), item.value(), /*is_buffer=*/true);
  }
  archive.write(key + "_names", c10::IValue(names));
  archive.write(key, section);
}

NamedTensors read_named_tensors(torch::serialize::InputArchive& archive, const std::string& key,
                                bool required) {
  NamedTensors tensors;
  c10::IValue value;
  if (!archive.try_read(key + "_names", value)) {
    if (required) throw std::runtime_error("the section '" + key + "' is missing");
    return tensors;
  }
  auto names = value.toList();
  torch::serialize::InputArchive section;
  archive.read(key, section);
  for (size_t i = 0; i < names.size(); ++i) {
    torch::Tensor tensor;
    section.read("t" + std::to_string(i), tensor, /*is_buffer=*/true);
    tensors.insert(names.get(i).toStringRef(), tensor);
  }
  return tensors;
}

// Identifies lowbit checkpoints among other LibTorch archives.
constexpr const char* kMagicKey = "lowbit_checkpoint";
// The first bytes of a format-3 file (checkpoint.h has the header layout) and of a bare LibTorch
// archive (a zip file's first local header) as formats 1 and 2 are.
constexpr std::string_view kHeaderMagic = "LOWBITCK";
constexpr std::string_view kZipMagic("PK\x03\x04", 4);

// The scalar fields of a checkpoint (all but its tensors and optimizer state), in the order the
// archive and the content hash hold them. Saving, loading and hashing all go through this one
// list, so that a field cannot be saved without being hashed (CheckpointT may be const).
template <typename CheckpointT, typename Visit>
void for_each_scalar_field(CheckpointT& c, Visit&& visit) {
  visit("stage", c.stage);
  visit("epoch", c.epoch);
  visit("best_epoch", c.best_epoch);
  visit("best_metric", c.best_metric);
  visit("best_metric_name", c.best_metric_name);
  visit("scheduler_epoch", c.scheduler_epoch);
  visit("lr_factor", c.lr_factor);
  visit("stage_config", c.stage_config);
}

void read_field(const c10::IValue& value, std::string& field) {
  field = value.toStringRef();
}
void read_field(const c10::IValue& value, int64_t& field) {
  field = value.toInt();
}
void read_field(const c10::IValue& value, double& field) {
  field = value.toDouble();
}

void put_u64(std::string& out, uint64_t value) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

uint64_t get_u64(std::string_view bytes, size_t at) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i) {
    value = (value << 8) | static_cast<uint8_t>(bytes[at + static_cast<size_t>(i)]);
  }
  return value;
}

std::string sha256_of(std::string_view bytes) {
  util::Sha256 hash;
  hash.update(bytes.data(), bytes.size());
  return hash.hex_digest();
}

std::string checkpoint_header(const std::string& archive) {
  std::string header(kHeaderMagic);
  put_u64(header, static_cast<uint64_t>(kCheckpointFormatVersion));
  put_u64(header, archive.size());
  header += sha256_of(archive);
  return header;
}

// The header's hash as printable text for an error message (damaged bytes shown as '?').
std::string printable(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) c = '?';
  }
  return out;
}

// The whole file, or CheckpointError when it cannot be read or is larger than any checkpoint.
std::string read_checkpoint_file(const std::string& path) {
  std::error_code error;
  const uintmax_t size = std::filesystem::file_size(path, error);
  if (error) {
    throw CheckpointError("checkpoint '" + path + "' cannot be read: " + error.message());
  }
  if (size > kMaxCheckpointBytes) {
    throw CheckpointError("checkpoint '" + path + "' is " + std::to_string(size) +
                          " bytes, more than the " + std::to_string(kMaxCheckpointBytes) +
                          " bytes (2 GiB) a lowbit checkpoint may have: it is damaged or not a "
                          "checkpoint");
  }
  std::string bytes(static_cast<size_t>(size), '\0');
  std::ifstream in(path, std::ios::binary);
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!in || static_cast<uintmax_t>(in.gcount()) != size) {
    throw CheckpointError("checkpoint '" + path + "' cannot be read completely (" +
                          std::to_string(size) + " bytes expected)");
  }
  return bytes;
}

// Checks a file's bytes before any of them reach LibTorch and returns the archive part. For a
// format-3 file (`header_format` set to 3) every archive byte is covered by the header's SHA-256;
// a bare archive (formats 1 and 2, `header_format` 0) is checked as a zip file.
std::string_view checked_archive(const std::string& path, std::string_view bytes,
                                 int64_t& header_format) {
  header_format = 0;
  const std::string where = "checkpoint '" + path + "'";
  const bool header_prefix =
      !bytes.empty() && kHeaderMagic.substr(0, std::min(bytes.size(), kHeaderMagic.size())) ==
                            bytes.substr(0, kHeaderMagic.size());
  if (header_prefix) {
    if (bytes.size() < kCheckpointHeaderBytes) {
      throw CheckpointError(where + " is truncated: " + std::to_string(bytes.size()) +
                            " bytes, shorter than its " + std::to_string(kCheckpointHeaderBytes) +
                            "-byte header (restore it or train the stage again)");
    }
    const uint64_t version = get_u64(bytes, 8);
    if (version < 3 || version > static_cast<uint64_t>(kCheckpointFormatVersion)) {
      throw CheckpointError(where + " has format version " + std::to_string(version) +
                            " in its header, this lowbit reads " +
                            std::to_string(kOldestCheckpointFormatVersion) + " to " +
                            std::to_string(kCheckpointFormatVersion) +
                            " (headers start at 3): it is damaged or newer than this lowbit");
    }
    const uint64_t length = get_u64(bytes, 16);
    const uint64_t present = bytes.size() - kCheckpointHeaderBytes;
    if (length > present) {
      throw CheckpointError(where + " is truncated: its header announces " +
                            std::to_string(length) + " bytes of archive but " +
                            std::to_string(present) +
                            " follow (restore it or train the stage again)");
    }
    if (length < present) {
      throw CheckpointError(where + " is damaged: " + std::to_string(present - length) +
                            " bytes follow the " + std::to_string(length) +
                            "-byte archive its header announces");
    }
    const std::string_view archive = bytes.substr(kCheckpointHeaderBytes);
    const std::string_view stored = bytes.substr(24, 64);
    const std::string actual = sha256_of(archive);
    if (actual != stored) {
      throw CheckpointError(where + " fails its integrity check: its archive bytes hash to " +
                            actual + " but its header records " + printable(stored) +
                            "; the file was altered or damaged after it was written (restore "
                            "it or train the stage again)");
    }
    header_format = static_cast<int64_t>(version);
    return archive;
  }
  if (bytes.substr(0, kZipMagic.size()) != kZipMagic) {
    throw CheckpointError("'" + path + "' is not a lowbit checkpoint: it starts with neither the " +
                          "lowbit checkpoint header nor a LibTorch archive");
  }
  try {
    check_libtorch_archive(bytes);
  } catch (const util::ZipError& e) {
    throw CheckpointError(where +
                          " cannot be read: the file is truncated or corrupt (it has no lowbit "
                          "header, as formats 1 and 2, and as a zip archive: " +
                          std::string(e.what()).substr(0, 300) + ")");
  }
  return bytes;
}

torch::Tensor bytes_to_tensor(const std::string& bytes) {
  auto tensor = torch::empty({static_cast<int64_t>(bytes.size())}, torch::kUInt8);
  if (!bytes.empty()) std::memcpy(tensor.data_ptr<uint8_t>(), bytes.data(), bytes.size());
  return tensor;
}

std::string tensor_to_bytes(const torch::Tensor& tensor) {
  auto contiguous = tensor.contiguous();
  return std::string(reinterpret_cast<const char*>(contiguous.data_ptr<uint8_t>()),
                     static_cast<size_t>(contiguous.numel()));
}

// Feeds values into a SHA-256, each prefixed with its length so that bytes moved from one field
// into the next change the digest.
class ContentHasher {
 public:
  void text(const std::string& value) {
    hash_.update(std::to_string(value.size()) + ":");
    hash_.update(value);
  }
  void add(const std::string& value) { text(value); }
  void add(int64_t value) { integer(value); }
  void add(double value) { real(value); }
  void integer(int64_t value) { text(std::to_string(value)); }
  void real(double value) {
    char buffer[40];
    std::snprintf(buffer, sizeof(buffer), "%.17g", value);
    text(std::isnan(value) ? "nan" : buffer);  // every NaN the same: its payload is not content
  }
  void tensors(const NamedTensors& named) {
    integer(static_cast<int64_t>(named.size()));
    for (const auto& item : named) {
      text(item.key());
      if (!item.value().defined()) {
        text("undefined");
        continue;
      }
      const torch::Tensor t = item.value().detach().to(torch::kCPU).contiguous();
      text(c10::toString(t.scalar_type()));
      integer(t.dim());
      for (int64_t size : t.sizes()) integer(size);
      integer(static_cast<int64_t>(t.nbytes()));
      hash_.update(t.data_ptr(), t.nbytes());
    }
  }
  std::string digest() { return hash_.hex_digest(); }

 private:
  util::Sha256 hash_;
};

}  // namespace

std::string checkpoint_content_hash(const Checkpoint& c) {
  ContentHasher h;
  for_each_scalar_field(c, [&](const char*, const auto& field) { h.add(field); });
  h.tensors(c.model);
  h.tensors(c.method_state);
  h.text(c.optimizer_state);
  return h.digest();
}

std::string optimizer_state_bytes(const torch::optim::Optimizer& optimizer) {
  torch::serialize::OutputArchive archive;
  optimizer.save(archive);
  std::ostringstream stream;
  archive.save_to(stream);
  return stream.str();
}

void load_optimizer_state(torch::optim::Optimizer& optimizer, const std::string& bytes,
                          const std::string& what) {
  try {
    check_libtorch_archive(bytes);
  } catch (const util::ZipError& e) {
    throw CheckpointError(
        what + ": the saved optimizer state is damaged: " + std::string(e.what()).substr(0, 300));
  }
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(bytes.data(), bytes.size());
    optimizer.load(archive);
  } catch (const std::exception& e) {
    throw CheckpointError(what + ": the saved optimizer state does not fit the optimizer: " +
                          std::string(e.what()).substr(0, 300));
  }
}

void save_checkpoint(const Checkpoint& checkpoint, const std::string& path) {
  torch::serialize::OutputArchive archive;
  archive.write(kMagicKey, c10::IValue(true));
  archive.write("format_version", c10::IValue(kCheckpointFormatVersion));
  archive.write("content_hash", c10::IValue(checkpoint_content_hash(checkpoint)));
  for_each_scalar_field(checkpoint, [&](const char* key, const auto& field) {
    archive.write(key, c10::IValue(field));
  });
  write_named_tensors(archive, "model", checkpoint.model);
  write_named_tensors(archive, "methods", checkpoint.method_state);
  archive.write("optimizer_state", bytes_to_tensor(checkpoint.optimizer_state), true);
  // Serialized in memory first: LibTorch's writer, when the file system fails it (a full disk),
  // throws again from its destructor and aborts the process. Memory writes cannot fail that way,
  // and the file write below reports errors as FileError.
  std::string bytes;
  try {
    std::ostringstream stream;
    archive.save_to(stream);
    bytes = stream.str();
  } catch (const std::exception& e) {
    throw CheckpointError("cannot serialize checkpoint '" + path + "': " + e.what());
  }
  try {
    std::filesystem::path parent = std::filesystem::path(path).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent);
    const std::string header = checkpoint_header(bytes);
    util::write_file_atomically(path, [&](std::ostream& out) {
      out.write(header.data(), static_cast<std::streamsize>(header.size()));
      out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    });
  } catch (const CheckpointError&) {
    throw;
  } catch (const std::exception& e) {
    throw CheckpointError("cannot write checkpoint '" + path + "': " + e.what());
  }
}

Checkpoint load_checkpoint(const std::string& path) {
  if (!std::filesystem::exists(path)) {
    throw CheckpointError("checkpoint '" + path + "' does not exist");
  }
  Checkpoint checkpoint;
  const std::string bytes = read_checkpoint_file(path);
  int64_t header_format = 0;
  const std::string_view checked = checked_archive(path, bytes, header_format);
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(checked.data(), checked.size());
  } catch (const std::exception& e) {
    throw CheckpointError("checkpoint '" + path +
                          "' cannot be read: the file is truncated, corrupt or not a LibTorch "
                          "archive (" +
                          std::string(e.what()).substr(0, 200) + ")");
  }
  c10::IValue value;
  if (!archive.try_read(kMagicKey, value)) {
    throw CheckpointError("'" + path + "' is a LibTorch archive but not a lowbit checkpoint");
  }
  try {
    archive.read("format_version", value);
    checkpoint.format_version = value.toInt();
    if (checkpoint.format_version < kOldestCheckpointFormatVersion ||
        checkpoint.format_version > kCheckpointFormatVersion) {
      throw CheckpointError("checkpoint '" + path + "' has format version " +
                            std::to_string(checkpoint.format_version) + ", this lowbit reads " +
                            std::to_string(kOldestCheckpointFormatVersion) + " to " +
                            std::to_string(kCheckpointFormatVersion));
    }
    // Format 3 and later exist only behind their header, and the header and the archive agree.
    if (header_format == 0 && checkpoint.format_version >= 3) {
      throw CheckpointError("checkpoint '" + path + "' is a format-" +
                            std::to_string(checkpoint.format_version) +
                            " archive without its lowbit header: the file was altered");
    }
    if (header_format != 0 && checkpoint.format_version != header_format) {
      throw CheckpointError("checkpoint '" + path + "' has format " +
                            std::to_string(header_format) + " in its header but " +
                            std::to_string(checkpoint.format_version) + " in its archive");
    }
    std::string stored_hash;
    if (checkpoint.format_version >= 2) {
      archive.read("content_hash", value);
      stored_hash = value.toStringRef();
    }
    for_each_scalar_field(checkpoint, [&](const char* key, auto& field) {
      archive.read(key, value);
      read_field(value, field);
    });
    checkpoint.model = read_named_tensors(archive, "model", true);
    // Checkpoints of stages without training methods may lack the section.
    checkpoint.method_state = read_named_tensors(archive, "methods", false);
    torch::Tensor optimizer;
    archive.read("optimizer_state", optimizer, true);
    checkpoint.optimizer_state = tensor_to_bytes(optimizer);
    if (checkpoint.format_version >= 2) {
      const std::string actual = checkpoint_content_hash(checkpoint);
      if (actual != stored_hash) {
        throw CheckpointError("checkpoint '" + path +
                              "' fails its integrity check: its contents hash to " + actual +
                              " but it records " + stored_hash.substr(0, 64) +
                              "; the file was altered or damaged after it was written (restore "
                              "it or train the stage again)");
      }
      checkpoint.content_hash = actual;
    } else {
      std::cerr << "lowbit: warning: checkpoint '" << path
                << "' has format version 1, which records no content hash, so it cannot be "
                   "checked for damage; train the stage again to get a checked checkpoint\n";
    }
  } catch (const CheckpointError&) {
    throw;
  } catch (const std::exception& e) {
    throw CheckpointError("checkpoint '" + path +
                          "' is incomplete or corrupt: " + std::string(e.what()).substr(0, 200));
  }
  return checkpoint;
}

}  // namespace lowbit::train
