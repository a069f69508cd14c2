#include "lowbit/data/events/event_repr.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace lowbit::data {
namespace {

// Checks shared by both representations; returns the output, zero-filled.
torch::Tensor empty_grid(const EventStream& events, int64_t time_bins, double t_begin, double t_end,
                         const char* who) {
  if (time_bins < 1) {
    throw std::invalid_argument(std::string(who) + ": time_bins must be >= 1, got " +
                                std::to_string(time_bins));
  }
  if (!(t_end > t_begin) || !std::isfinite(t_begin) || !std::isfinite(t_end)) {
    throw std::invalid_argument(std::string(who) + ": need finite t_end > t_begin for '" +
                                events.name + "'");
  }
  events.check();
  return torch::zeros({time_bins, 2, events.height, events.width}, torch::kFloat32);
}

// Calls add(bin, channel, pixel, weight) for each event inside [t_begin, t_end].
template <class Add>
void for_each_event(const EventStream& events, double t_begin, double t_end, Add&& add) {
  const auto xs = events.x.contiguous(), ys = events.y.contiguous();
  const auto ts = events.t.contiguous(), ps = events.p.contiguous();
  const int16_t* x = xs.data_ptr<int16_t>();
  const int16_t* y = ys.data_ptr<int16_t>();
  const double* t = ts.data_ptr<double>();
  const int8_t* p = ps.data_ptr<int8_t>();
  for (int64_t i = 0; i < events.size(); ++i) {
    if (t[i] < t_begin || t[i] > t_end) continue;
    add((t[i] - t_begin) / (t_end - t_begin), p[i] > 0 ? 0 : 1, y[i] * events.width + x[i]);
  }
}

}  // namespace

const std::vector<std::string>& event_representation_names() {
  static const std::vector<std::string> names = {"voxel_grid", "counts"};
  return names;
}

EventRepresentation parse_event_representation(const std::string& name) {
  if (name == "voxel_grid") return EventRepresentation::kVoxelGrid;
  if (name == "counts") return EventRepresentation::kCounts;
  throw std::invalid_argument("unknown event representation '" + name +
                              "' (expected voxel_grid or counts)");
}

torch::Tensor voxel_grid(const EventStream& events, int64_t time_bins, double t_begin,
                         double t_end) {
  torch::Tensor grid = empty_grid(events, time_bins, t_begin, t_end, "voxel_grid");
  float* out = grid.data_ptr<float>();
  const int64_t plane = events.height * events.width;
  const double last = static_cast<double>(time_bins - 1);
  for_each_event(events, t_begin, t_end, [&](double u, int channel, int64_t pixel) {
    const double tau = u * last;
    const auto lo = std::min(static_cast<int64_t>(std::floor(tau)), time_bins - 1);
    const auto w_hi = static_cast<float>(tau - static_cast<double>(lo));
    out[(lo * 2 + channel) * plane + pixel] += 1.0f - w_hi;
    if (lo + 1 < time_bins) out[((lo + 1) * 2 + channel) * plane + pixel] += w_hi;
  });
  return grid;
}

torch::Tensor count_images(const EventStream& events, int64_t time_bins, double t_begin,
                           double t_end) {
  torch::Tensor grid = empty_grid(events, time_bins, t_begin, t_end, "count_images");
  float* out = grid.data_ptr<float>();
  const int64_t plane = events.height * events.width;
  for_each_event(events, t_begin, t_end, [&](double u, int channel, int64_t pixel) {
    const auto bin = std::min(static_cast<int64_t>(std::floor(u * static_cast<double>(time_bins))),
                              time_bins - 1);
    out[(bin * 2 + channel) * plane + pixel] += 1.0f;
  });
  return grid;
}

torch::Tensor event_tensor(const EventStream& events, EventRepresentation kind, int64_t time_bins,
                           double t_begin, double t_end) {
  return kind == EventRepresentation::kVoxelGrid ? voxel_grid(events, time_bins, t_begin, t_end)
                                                 : count_images(events, time_bins, t_begin, t_end);
}

torch::Tensor event_pixel_mask(const torch::Tensor& inputs) {
  if (inputs.dim() != 5 || inputs.size(2) != 2) {
    throw std::invalid_argument("event_pixel_mask: expected inputs [N, T, 2, H, W]");
  }
  return inputs.ne(0).any(2).any(1).to(torch::kFloat32);
}

}  // namespace lowbit::data
