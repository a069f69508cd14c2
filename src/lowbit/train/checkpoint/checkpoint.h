// Training checkpoints: model state, optimizer state, scheduler position, epoch, best metric and
// the stage's config in one LibTorch archive, written atomically so that a crash during a save
// leaves the previous checkpoint intact.
//
// Format 3 puts a lowbit header in front of the archive, so that a damaged file is found before
// LibTorch parses it (LibTorch's loader crashed on a mutated best.pt, docs/results.md, "Fuzzing"):
//   bytes  0..7   magic "LOWBITCK"
//   bytes  8..15  format version, unsigned 64-bit little-endian (3)
//   bytes 16..23  length of the archive that follows, unsigned 64-bit little-endian
//   bytes 24..87  SHA-256 of those archive bytes, 64 lowercase hex digits
//   bytes 88..    the LibTorch archive (with the content hash of format 2 inside)
// Formats 1 and 2 are the bare archive; they are checked as zip files (structure and every
// member's CRC-32) before LibTorch reads them, which finds accidental damage but, unlike the
// SHA-256 of format 3, not a deliberate change that also fixes the CRC-32s.
#pragma once

#include <torch/optim/optimizer.h>

#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>

#include "lowbit/train/checkpoint/model_state.h"

namespace lowbit::train {

/// The checkpoint layout this code writes: 2 added the content hash, 3 the header checked before
/// LibTorch parses anything.
inline constexpr int64_t kCheckpointFormatVersion = 3;
/// The oldest layout load_checkpoint still reads (without a hash to check, with a warning).
inline constexpr int64_t kOldestCheckpointFormatVersion = 1;
/// Size of the format-3 header in front of the LibTorch archive.
inline constexpr uint64_t kCheckpointHeaderBytes = 88;
/// The largest checkpoint file load_checkpoint reads (it reads the whole file into memory).
inline constexpr uint64_t kMaxCheckpointBytes = uint64_t{2} << 30;

/// A checkpoint file could not be written, read or understood; the message names the file.
class CheckpointError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Everything needed to resume a stage or to warm-start another one.
struct Checkpoint {
  /// Layout version (kCheckpointFormatVersion when written by this code).
  int64_t format_version = kCheckpointFormatVersion;
  /// Name of the stage that wrote it.
  std::string stage;
  /// The last completed epoch (0-based); -1 before the first.
  int64_t epoch = -1;
  /// Epoch of the best metric so far; -1 when none yet.
  int64_t best_epoch = -1;
  /// Best value of the tracked metric so far (NaN when none yet).
  double best_metric = std::numeric_limits<double>::quiet_NaN();
  /// Name of the tracked metric (e.g. "val_accuracy").
  std::string best_metric_name;
  /// The epoch the LR schedule continues from (epoch + 1 for a completed epoch).
  int64_t scheduler_epoch = 0;
  /// Multiplier that `set_lr` events put on the scheduled LR.
  double lr_factor = 1.0;
  /// The stage's configuration as YAML text.
  std::string stage_config;
  /// Every parameter and buffer of the model, by name.
  NamedTensors model;
  /// State of the stage's training methods (pruning masks, SWA sums), by name; may be empty.
  NamedTensors method_state;
  /// The optimizer's own archive bytes (see optimizer_state_bytes); empty when not saved.
  std::string optimizer_state;
  /// SHA-256 of every field above (checkpoint_content_hash) as loaded and checked; empty for a
  /// format-1 checkpoint, which has none. Ignored by save_checkpoint, which computes it.
  std::string content_hash;
};

/// SHA-256 (64 hex digits) over every field of `checkpoint` except format_version and
/// content_hash, in a fixed order, each with its length; tensors by name, dtype, shape and bytes.
std::string checkpoint_content_hash(const Checkpoint& checkpoint);

/// Serializes an optimizer's state (moments, step counts) into archive bytes.
std::string optimizer_state_bytes(const torch::optim::Optimizer& optimizer);

/// Restores an optimizer's state from optimizer_state_bytes(); `what` names the source in errors.
/// The bytes are checked as a zip archive (structure, CRC-32s) before LibTorch parses them; those
/// of a loaded Checkpoint are covered by its header's SHA-256 (format 3) and content hash too.
void load_optimizer_state(torch::optim::Optimizer& optimizer, const std::string& bytes,
                          const std::string& what);

/// Writes `checkpoint` to `path` atomically (serialized in memory, then temporary file, flush,
/// rename) with format kCheckpointFormatVersion: the header, then the archive with the content
/// hash. Throws CheckpointError
/// naming the path when it cannot be written (a full disk too); the old file then stays and no
/// temporary file is left.
void save_checkpoint(const Checkpoint& checkpoint, const std::string& path);

/// Reads a checkpoint: the whole file (at most kMaxCheckpointBytes) into memory, then for format
/// 3 its header (magic, version, length, SHA-256 of the archive), for formats 1 and 2 the zip
/// structure and CRC-32s, and only then hands the bytes to LibTorch. Throws CheckpointError naming
/// the path when the file is missing, too large, truncated, corrupt, not a lowbit checkpoint, of
/// an unknown format version, or when a hash does not match. A format-1 checkpoint (no content
/// hash) loads with a warning on stderr.
Checkpoint load_checkpoint(const std::string& path);

}  // namespace lowbit::train
