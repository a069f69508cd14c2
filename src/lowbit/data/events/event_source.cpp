#include "lowbit/data/events/event_source.h"

#include <algorithm>
#include <filesystem>

#include "lowbit/data/events/event_flow.h"
#include "lowbit/data/events/event_h5.h"
#include "lowbit/data/events/flow_files.h"
#include "lowbit/data/rng.h"
#include "lowbit/util/atomic_file.h"

namespace lowbit::data {
namespace {

// Seed offset of the test stream: any fixed value different from the training stream's.
constexpr uint64_t kTestStream = 0x7E57;

// A recording's samples before they become tensors: the events of each window and the flow.
struct Recording {
  EventReader events;
  torch::Tensor windows;  // float64 [M, 2]
  torch::Tensor flow;     // float32 [M, 2, H, W]
  torch::Tensor valid;    // float32 [M, H, W]
};

// The DSEC flow maps of `dir`: forward_timestamps.txt and the PNGs in name order.
Recording dsec_flow(const std::string& dir) {
  const torch::Tensor stamps = read_dsec_flow_timestamps(dir + "/forward_timestamps.txt");
  std::vector<std::string> pngs;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".png") pngs.push_back(entry.path().string());
  }
  std::sort(pngs.begin(), pngs.end());
  if (static_cast<int64_t>(pngs.size()) != stamps.size(0)) {
    throw util::FileError(dir + ": " + std::to_string(pngs.size()) + " flow PNGs but " +
                          std::to_string(stamps.size(0)) +
                          " windows in forward_timestamps.txt (expected one PNG per line)");
  }
  Recording r;
  r.windows = stamps.to(torch::kFloat64) * 1e-6;
  std::vector<torch::Tensor> flows, valids;
  for (const std::string& png : pngs) {
    FlowFrame f = read_dsec_flow_png(png);
    if (!flows.empty() && f.flow.sizes() != flows.front().sizes()) {
      throw util::FileError(png + ": flow map of another size than " + pngs.front());
    }
    flows.push_back(f.flow);
    valids.push_back(f.valid);
  }
  r.flow = torch::stack(flows);
  r.valid = torch::stack(valids);
  return r;
}

}  // namespace

Dataset load_event_file_source(const config::ConfigNode& node) {
  const std::string format = node.require_choice("format", {"npz", "mvsec", "dsec"});
  const std::string events_path = node.require<std::string>("events");
  const int64_t time_steps = node.get_in_range<int64_t>("time_steps", 5, 1, 256);
  const EventRepresentation representation = parse_event_representation(
      node.choice("representation", "voxel_grid", event_representation_names()));
  const int64_t max_samples = node.get_in_range<int64_t>("max_samples", 0, 0, INT64_MAX);
  Recording rec;
  if (format == "npz") {
    auto npz = std::make_shared<EventFlowRecording>(read_event_flow_npz(events_path));
    rec.events = [npz](double a, double b) { return events_between(npz->events, a, b); };
    rec.windows = npz->windows;
    rec.flow = npz->flow;
    rec.valid = npz->valid;
  } else if (format == "mvsec") {
    const MvsecFlow gt = read_mvsec_flow(node.require<std::string>("flow"));
    const int64_t m = gt.flow.size(0) - 1;
    if (m < 1) node.fail("flow", "needs at least 2 timestamps (one window)");
    auto file =
        std::make_shared<MvsecEventFile>(events_path, gt.flow.size(2), gt.flow.size(3),
                                         node.get<std::string>("dataset", "davis/left/events"));
    rec.events = [file](double a, double b) { return file->read_between(a, b); };
    rec.windows = mvsec_flow_windows(gt);
    rec.flow = gt.flow.slice(0, 0, m);
    rec.valid = gt.valid.slice(0, 0, m);
  } else {
    rec = dsec_flow(node.require<std::string>("flow"));
    auto file = std::make_shared<DsecEventFile>(events_path, rec.flow.size(2), rec.flow.size(3));
    rec.events = [file](double a, double b) { return file->read_between(a, b); };
  }
  int64_t m = rec.flow.size(0);
  if (max_samples > 0) m = std::min(m, max_samples);
  int64_t top = 0, left = 0, h = rec.flow.size(2), w = rec.flow.size(3);
  if (node.has("crop")) {
    const auto crop = node.get<std::vector<int64_t>>("crop", {});
    if (crop.size() != 4 || crop[0] < 0 || crop[1] < 0 || crop[2] < 1 || crop[3] < 1 ||
        crop[0] + crop[2] > h || crop[1] + crop[3] > w) {
      node.fail("crop", "expected [top, left, height, width] inside the " + std::to_string(h) +
                            " x " + std::to_string(w) + " flow maps");
    }
    top = crop[0];
    left = crop[1];
    h = crop[2];
    w = crop[3];
  }
  const double bytes = static_cast<double>(m) * static_cast<double>(time_steps) * 2.0 *
                       static_cast<double>(h) * static_cast<double>(w) * 4.0;
  if (bytes > static_cast<double>(kMaxEventDataBytes)) {
    node.fail("max_samples", std::to_string(m) + " samples would take " +
                                 std::to_string(bytes / (1 << 30)) + " GiB (limit " +
                                 std::to_string(kMaxEventDataBytes >> 30) +
                                 " GiB): set max_samples or crop");
  }
  const torch::Tensor windows = rec.windows.slice(0, 0, m).to(torch::kFloat64).contiguous();
  torch::Tensor inputs = torch::empty({m, time_steps, 2, h, w}, torch::kFloat32);
  for (int64_t i = 0; i < m; ++i) {
    const double t0 = windows[i][0].item<double>(), t1 = windows[i][1].item<double>();
    inputs[i].copy_(event_tensor(rec.events(t0, t1), representation, time_steps, t0, t1)
                        .slice(2, top, top + h)
                        .slice(3, left, left + w));
  }
  const auto crop = [&](const torch::Tensor& t) {
    return t.slice(0, 0, m).slice(-2, top, top + h).slice(-1, left, left + w);
  };
  return flow_dataset(inputs, crop(rec.flow), crop(rec.valid), events_path);
}

EventSynthSource read_event_synth_source(const config::ConfigNode& node, uint64_t run_seed) {
  EventSynthSource s;
  EventSynthOptions& o = s.options;
  if (node.has("size")) {
    const auto size = node.get<std::vector<int64_t>>("size", {});
    if (size.size() != 2) node.fail("size", "expected [height, width]");
    o.height = size[0];
    o.width = size[1];
  }
  s.time_steps = node.get_in_range<int64_t>("time_steps", s.time_steps, 1, 256);
  s.representation = parse_event_representation(
      node.choice("representation", "voxel_grid", event_representation_names()));
  s.train_samples = node.get_in_range<int64_t>("train_samples", s.train_samples, 1, 1000000);
  s.test_samples = node.get_in_range<int64_t>("test_samples", s.test_samples, 1, 1000000);
  o.contrast_threshold = node.get<double>("contrast_threshold", o.contrast_threshold);
  o.refractory = node.get<double>("refractory", o.refractory);
  o.noise_rate = node.get<double>("noise_rate", o.noise_rate);
  o.min_speed = node.get<double>("min_speed", o.min_speed);
  o.max_speed = node.get<double>("max_speed", o.max_speed);
  if (node.has("motions")) {
    o.motions.clear();
    for (const std::string& name : node.get<std::vector<std::string>>("motions", {})) {
      try {
        o.motions.push_back(parse_motion_kind(name));
      } catch (const std::invalid_argument& e) {
        node.fail("motions", e.what());
      }
    }
  }
  o.substeps = node.get<int64_t>("substeps", o.substeps);
  o.blob_density = node.get<double>("blob_density", o.blob_density);
  o.gratings = node.get<int64_t>("gratings", o.gratings);
  o.scene_contrast = node.get<double>("scene_contrast", o.scene_contrast);
  o.seed = static_cast<uint64_t>(
      node.get_in_range<int64_t>("seed", static_cast<int64_t>(run_seed), 0, INT64_MAX));
  if (const auto problem = event_synth_problem(o)) node.fail(problem->first, problem->second);
  const double bytes = static_cast<double>(s.train_samples + s.test_samples) *
                       static_cast<double>(s.time_steps) * 2.0 * static_cast<double>(o.height) *
                       static_cast<double>(o.width) * 4.0;
  if (bytes > static_cast<double>(kMaxEventDataBytes)) {
    node.fail("train_samples", "with test_samples, time_steps and size the inputs would take " +
                                   std::to_string(bytes / (1 << 30)) + " GiB (limit " +
                                   std::to_string(kMaxEventDataBytes >> 30) + " GiB)");
  }
  return s;
}

TrainTestData load_event_synth(const EventSynthSource& source) {
  TrainTestData out;
  const std::string name = "events_synthetic(seed " + std::to_string(source.options.seed) + ")";
  out.train = generate_event_flow(source.options, source.train_samples, source.time_steps,
                                  source.representation, name);
  EventSynthOptions test = source.options;
  test.seed = mix_seed(source.options.seed, kTestStream);
  out.test = generate_event_flow(test, source.test_samples, source.time_steps,
                                 source.representation, name + "[test]");
  return out;
}

}  // namespace lowbit::data
