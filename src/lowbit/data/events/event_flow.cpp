#include "lowbit/data/events/event_flow.h"

#include <stdexcept>

namespace lowbit::data {
namespace {

std::string shape_of(const torch::Tensor& t) {
  std::string s = "[";
  for (int64_t d = 0; d < t.dim(); ++d) s += (d ? ", " : "") + std::to_string(t.size(d));
  return s + "]";
}

}  // namespace

torch::Tensor flow_targets(const torch::Tensor& flow, const torch::Tensor& valid) {
  if (flow.dim() != 4 || flow.size(1) != 2 || valid.dim() != 3 || valid.size(0) != flow.size(0) ||
      valid.size(1) != flow.size(2) || valid.size(2) != flow.size(3)) {
    throw std::invalid_argument(
        "flow_targets: expected flow [N, 2, H, W] and valid [N, H, W], got " + shape_of(flow) +
        " and " + shape_of(valid));
  }
  const torch::Tensor mask = valid.ne(0).unsqueeze(1);
  const torch::Tensor uv =
      torch::where(mask, flow.to(torch::kFloat32), torch::zeros({}, torch::kFloat32));
  return torch::cat({uv, mask.to(torch::kFloat32)}, 1).contiguous();
}

Dataset flow_dataset(const torch::Tensor& inputs, const torch::Tensor& flow,
                     const torch::Tensor& valid, const std::string& name) {
  const std::string who = "flow data set '" + name + "'";
  if (inputs.dim() != 5 || inputs.size(2) != 2 || inputs.scalar_type() != torch::kFloat32) {
    throw std::invalid_argument(who + ": inputs must be float32 [N, T, 2, H, W], got " +
                                shape_of(inputs));
  }
  if (flow.dim() != 4 || flow.size(0) != inputs.size(0) || flow.size(2) != inputs.size(3) ||
      flow.size(3) != inputs.size(4)) {
    throw std::invalid_argument(who + ": flow " + shape_of(flow) + " does not match inputs " +
                                shape_of(inputs) + " (expected [N, 2, H, W])");
  }
  Dataset d;
  d.inputs = inputs;
  d.targets = flow_targets(flow, valid);
  if (!torch::isfinite(d.targets).all().item<bool>()) {
    throw std::invalid_argument(who + ": valid flow holds NaN or infinity");
  }
  d.name = name;
  d.check();
  return d;
}

Dataset event_flow_dataset(const EventReader& events, const torch::Tensor& windows,
                           const torch::Tensor& flow, const torch::Tensor& valid,
                           int64_t time_steps, EventRepresentation representation,
                           const std::string& name) {
  if (windows.dim() != 2 || windows.size(1) != 2 || flow.dim() != 4 ||
      windows.size(0) != flow.size(0)) {
    throw std::invalid_argument("flow data set '" + name + "': expected windows [M, 2] and flow " +
                                "[M, 2, H, W], got " + shape_of(windows) + " and " +
                                shape_of(flow));
  }
  const int64_t m = windows.size(0), h = flow.size(2), w = flow.size(3);
  const torch::Tensor win = windows.to(torch::kFloat64).contiguous();
  const double* bounds = win.data_ptr<double>();
  torch::Tensor inputs = torch::empty({m, time_steps, 2, h, w}, torch::kFloat32);
  for (int64_t i = 0; i < m; ++i) {
    const EventStream part = events(bounds[2 * i], bounds[2 * i + 1]);
    if (part.height != h || part.width != w) {
      throw std::invalid_argument("flow data set '" + name + "': events '" + part.name +
                                  "' come from a " + std::to_string(part.width) + " x " +
                                  std::to_string(part.height) + " sensor but the flow is " +
                                  std::to_string(w) + " x " + std::to_string(h));
    }
    inputs[i].copy_(
        event_tensor(part, representation, time_steps, bounds[2 * i], bounds[2 * i + 1]));
  }
  return flow_dataset(inputs, flow, valid, name);
}

}  // namespace lowbit::data
