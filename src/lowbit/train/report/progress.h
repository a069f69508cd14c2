// Training progress on the console: a live bar with ETA and running loss/accuracy when the
// output is a terminal, plain one-line-per-epoch output otherwise (logs, CI, pipes).
#pragma once

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>

namespace lowbit::train {

/// Draws the progress of one epoch and prints its summary line.
class Progress {
 public:
  /// Writes to `out`; `live` draws the bar (pass stdout_is_terminal() for the console).
  Progress(std::ostream& out, bool live);

  /// Starts epoch `epoch` (0-based) of `epochs` with `batches` batches.
  void start_epoch(const std::string& stage, int64_t epoch, int64_t epochs, int64_t batches);

  /// Reports batch `batch` (0-based) done, with the running mean loss and accuracy.
  void batch_done(int64_t batch, double running_loss, double running_accuracy);

  /// Ends the epoch with its summary line (replacing the bar when live).
  void end_epoch(const std::string& summary);

 private:
  std::ostream& out_;
  bool live_;
  std::string label_;
  int64_t batches_ = 0;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

/// True when standard output is a terminal.
bool stdout_is_terminal();

}  // namespace lowbit::train
