#include "lowbit/data/events/events.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace lowbit::data {

void EventStream::check() const {
  const std::string who = "events '" + name + "'";
  if (!x.defined() || !y.defined() || !t.defined() || !p.defined()) {
    throw std::invalid_argument(who + ": x, y, t and p must all be set");
  }
  if (x.scalar_type() != torch::kInt16 || y.scalar_type() != torch::kInt16 ||
      t.scalar_type() != torch::kFloat64 || p.scalar_type() != torch::kInt8) {
    throw std::invalid_argument(who + ": expected x, y int16, t float64 and p int8");
  }
  const int64_t n = t.dim() == 1 ? t.size(0) : -1;
  if (n < 0 || x.dim() != 1 || y.dim() != 1 || p.dim() != 1 || x.size(0) != n || y.size(0) != n ||
      p.size(0) != n) {
    throw std::invalid_argument(who + ": x, y, t and p must be 1-D of one length");
  }
  if (height < 1 || width < 1 || height > INT16_MAX || width > INT16_MAX) {
    throw std::invalid_argument(who + ": sensor size " + std::to_string(height) + " x " +
                                std::to_string(width) + " (expected 1..32767 each)");
  }
  if (n == 0) return;
  const auto xs = x.contiguous(), ys = y.contiguous(), ps = p.contiguous(), ts = t.contiguous();
  const int16_t* xp = xs.data_ptr<int16_t>();
  const int16_t* yp = ys.data_ptr<int16_t>();
  const int8_t* pp = ps.data_ptr<int8_t>();
  const double* tp = ts.data_ptr<double>();
  for (int64_t i = 0; i < n; ++i) {
    const std::string at = who + ": event " + std::to_string(i) + ": ";
    if (xp[i] < 0 || xp[i] >= width || yp[i] < 0 || yp[i] >= height) {
      throw std::invalid_argument(at + "(x, y) = (" + std::to_string(xp[i]) + ", " +
                                  std::to_string(yp[i]) + ") outside the " + std::to_string(width) +
                                  " x " + std::to_string(height) + " sensor");
    }
    if (pp[i] != 1 && pp[i] != -1) {
      throw std::invalid_argument(at + "polarity " + std::to_string(pp[i]) + " (expected +1/-1)");
    }
    if (!std::isfinite(tp[i]) || (i > 0 && tp[i] < tp[i - 1])) {
      throw std::invalid_argument(at + "time " + std::to_string(tp[i]) +
                                  " is not finite or earlier than the event before");
    }
  }
}

EventStream EventStream::slice(int64_t begin, int64_t end) const {
  EventStream out = *this;
  out.x = x.slice(0, begin, end);
  out.y = y.slice(0, begin, end);
  out.t = t.slice(0, begin, end);
  out.p = p.slice(0, begin, end);
  return out;
}

EventStream empty_events(int64_t height, int64_t width, const std::string& name) {
  EventStream out;
  out.x = torch::empty({0}, torch::kInt16);
  out.y = torch::empty({0}, torch::kInt16);
  out.t = torch::empty({0}, torch::kFloat64);
  out.p = torch::empty({0}, torch::kInt8);
  out.height = height;
  out.width = width;
  out.name = name;
  return out;
}

EventStream events_between(const EventStream& events, double t_begin, double t_end) {
  const torch::Tensor times = events.t.contiguous();
  const double* tp = times.data_ptr<double>();
  const int64_t n = events.size();
  // Binary searches: the stream is sorted, and real recordings hold millions of events.
  const int64_t begin = std::lower_bound(tp, tp + n, t_begin) - tp;
  const int64_t end =
      std::max(begin, static_cast<int64_t>(std::lower_bound(tp, tp + n, t_end) - tp));
  return events.slice(begin, end);
}

}  // namespace lowbit::data
