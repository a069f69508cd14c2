#include "lowbit/train/checkpoint.h"

#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "lowbit/util/atomic_file.h"
#include "lowbit/util/sha256.h"

namespace lowbit::train {
namespace {

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
  h.text(c.stage);
  h.integer(c.epoch);
  h.integer(c.best_epoch);
  h.real(c.best_metric);
  h.text(c.best_metric_name);
  h.integer(c.scheduler_epoch);
  h.real(c.lr_factor);
  h.text(c.stage_config);
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
    std::istringstream stream(bytes);
    torch::serialize::InputArchive archive;
    archive.load_from(stream);
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
  archive.write("stage", c10::IValue(checkpoint.stage));
  archive.write("epoch", c10::IValue(checkpoint.epoch));
  archive.write("best_epoch", c10::IValue(checkpoint.best_epoch));
  archive.write("best_metric", c10::IValue(checkpoint.best_metric));
  archive.write("best_metric_name", c10::IValue(checkpoint.best_metric_name));
  archive.write("scheduler_epoch", c10::IValue(checkpoint.scheduler_epoch));
  archive.write("lr_factor", c10::IValue(checkpoint.lr_factor));
  archive.write("stage_config", c10::IValue(checkpoint.stage_config));
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
    util::write_file_atomically(path, [&](std::ostream& out) {
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
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path);
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
    std::string stored_hash;
    if (checkpoint.format_version >= 2) {
      archive.read("content_hash", value);
      stored_hash = value.toStringRef();
    }
    archive.read("stage", value);
    checkpoint.stage = value.toStringRef();
    archive.read("epoch", value);
    checkpoint.epoch = value.toInt();
    archive.read("best_epoch", value);
    checkpoint.best_epoch = value.toInt();
    archive.read("best_metric", value);
    checkpoint.best_metric = value.toDouble();
    archive.read("best_metric_name", value);
    checkpoint.best_metric_name = value.toStringRef();
    archive.read("scheduler_epoch", value);
    checkpoint.scheduler_epoch = value.toInt();
    archive.read("lr_factor", value);
    checkpoint.lr_factor = value.toDouble();
    archive.read("stage_config", value);
    checkpoint.stage_config = value.toStringRef();
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
