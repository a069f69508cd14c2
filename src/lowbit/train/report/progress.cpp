#include "lowbit/train/report/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>

namespace lowbit::train {
namespace {

constexpr int kBarWidth = 24;

std::string clock_text(double seconds) {
  const int64_t s = static_cast<int64_t>(std::llround(seconds));
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%lld:%02lld", static_cast<long long>(s / 60),
                static_cast<long long>(s % 60));
  return buffer;
}

}  // namespace

Progress::Progress(std::ostream& out, bool live) : out_(out), live_(live) {}

void Progress::start_epoch(const std::string& stage, int64_t epoch, int64_t epochs,
                           int64_t batches) {
  label_ = stage + " " + std::to_string(epoch + 1) + "/" + std::to_string(epochs);
  batches_ = batches;
  start_ = std::chrono::steady_clock::now();
  last_draw_ = start_ - std::chrono::seconds(1);
}

void Progress::batch_done(int64_t batch, double running_loss, double running_accuracy) {
  if (!live_) return;
  const auto now = std::chrono::steady_clock::now();
  // Redrawing more often than 10 times a second only costs time.
  if (batch + 1 < batches_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  const double done = static_cast<double>(batch + 1) / static_cast<double>(batches_);
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const int filled = static_cast<int>(done * kBarWidth);
  char stats[96];
  std::snprintf(stats, sizeof(stats), " %lld/%lld  ETA %s  loss %.4f  acc %.4f",
                static_cast<long long>(batch + 1), static_cast<long long>(batches_),
                clock_text(elapsed / done - elapsed).c_str(), running_loss, running_accuracy);
  out_ << "\r" << label_ << " [" << std::string(filled, '#') << std::string(kBarWidth - filled, '.')
       << "]" << stats << "\033[K" << std::flush;
}

void Progress::end_epoch(const std::string& summary) {
  if (live_) out_ << "\r\033[K";
  out_ << label_ << "  " << summary << std::endl;
}

bool stdout_is_terminal() {
  return ::isatty(::fileno(stdout)) != 0;
}

}  // namespace lowbit::train
