#include <gtest/gtest.h>

#include <string>

#include "data/event_files.h"
#include "data/test_files.h"
#include "data/zip_writer.h"
#include "lowbit/data/events/event_flow.h"
#include "lowbit/data/events/event_source.h"
#include "lowbit/data/files/npy.h"
#include "lowbit/util/atomic_file.h"

namespace lowbit::data {
namespace {

using config::ConfigNode;
using testing::TempDir;

void write_npz(const std::string& path,
               const std::vector<std::pair<std::string, torch::Tensor>>& arrays) {
  std::vector<testing::Member> members;
  for (const auto& [name, t] : arrays) members.push_back({name + ".npy", npy_bytes(t, name)});
  testing::write_bytes(path, testing::zip_bytes(members));
}

// Events of a 4 x 6 sensor: event i at pixel (i % 6, i % 4), time 0.01 i, ON when i is even.
struct Toy {
  std::vector<int64_t> x, y, p;
  std::vector<double> t;
  explicit Toy(int n) {
    for (int i = 0; i < n; ++i) {
      x.push_back(i % 6);
      y.push_back(i % 4);
      t.push_back(0.01 * i);
      p.push_back(i % 2 == 0 ? 1 : -1);
    }
  }
};

TEST(EventFileSource, NpzRecordingWithCropAndMaxSamples) {
  TempDir dir("src_npz");
  const std::string path = dir.file("rec.npz");
  const Toy toy(100);
  const torch::Tensor flow = torch::arange(3 * 2 * 4 * 6, torch::kFloat32).reshape({3, 2, 4, 6});
  write_npz(path, {{"x", torch::tensor(toy.x)},
                   {"y", torch::tensor(toy.y)},
                   {"t", torch::tensor(toy.t, torch::kFloat64)},
                   {"p", torch::tensor(toy.p)},
                   {"flow", flow},
                   {"windows", torch::tensor({0.0, 0.3, 0.3, 0.6, 0.6, 1.0}).reshape({3, 2})}});
  const ConfigNode node = ConfigNode::parse("format: npz\nevents: " + path +
                                                "\ntime_steps: 3\ncrop: [1, 2, 2, 3]\n"
                                                "max_samples: 2\n",
                                            "f.yaml");
  const Dataset d = load_event_file_source(node);
  node.done();
  ASSERT_EQ(d.inputs.sizes(), (std::vector<int64_t>{2, 3, 2, 2, 3}));
  ASSERT_EQ(d.targets.sizes(), (std::vector<int64_t>{2, 3, 2, 3}));
  EXPECT_TRUE(
      torch::equal(d.targets.slice(1, 0, 2), flow.slice(0, 0, 2).slice(2, 1, 3).slice(3, 2, 5)));
  // Window 0 holds events 0..29; those in rows 1..2 and columns 2..4 of the crop.
  int64_t inside = 0;
  for (int i = 0; i < 30; ++i)
    inside += toy.y[i] >= 1 && toy.y[i] <= 2 && toy.x[i] >= 2 && toy.x[i] <= 4;
  EXPECT_NEAR(d.inputs[0].sum().item<double>(), static_cast<double>(inside), 1e-4);

  const auto error = [&](const std::string& text) {
    try {
      load_event_file_source(ConfigNode::parse(text, "f.yaml"));
    } catch (const config::ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  std::string e = error("format: npz\nevents: " + path + "\ncrop: [3, 0, 2, 2]\n");
  EXPECT_NE(e.find("crop"), std::string::npos) << e;
  e = error("format: aedat\nevents: " + path + "\n");
  EXPECT_NE(e.find("format"), std::string::npos) << e;
}

TEST(EventFileSource, MvsecHdf5WithFlowNpz) {
  TempDir dir("src_mvsec");
  const std::string events = dir.file("seq_data.hdf5");
  const std::string gt = dir.file("seq_gt_flow_dist.npz");
  const Toy toy(100);
  std::vector<double> rows;
  for (size_t i = 0; i < toy.t.size(); ++i) {
    rows.insert(rows.end(), {static_cast<double>(toy.x[i]), static_cast<double>(toy.y[i]),
                             50.0 + toy.t[i], static_cast<double>(toy.p[i])});
  }
  {
    testing::H5Writer w(events);
    w.write("davis/left/events", {100, 4}, H5T_IEEE_F64LE, rows);
  }
  write_npz(gt, {{"timestamps", torch::tensor({50.0, 50.25, 50.5, 50.75}, torch::kFloat64)},
                 {"x_flow_dist", torch::ones({4, 4, 6}, torch::kFloat64)},
                 {"y_flow_dist", torch::full({4, 4, 6}, 2.0, torch::kFloat64)}});
  const ConfigNode node = ConfigNode::parse(
      "format: mvsec\nevents: " + events + "\nflow: " + gt + "\ntime_steps: 2\n", "f.yaml");
  const Dataset d = load_event_file_source(node);
  node.done();
  ASSERT_EQ(d.size(), 3);  // 4 timestamps: 3 windows
  // [50.0, 50.25): events 0..24 (t = 50.00 .. 50.24).
  EXPECT_NEAR(d.inputs[0].sum().item<double>(), 25.0, 1e-4);
  EXPECT_NEAR(d.inputs[2].sum().item<double>(), 25.0, 1e-4);
  EXPECT_TRUE(d.targets.select(1, kFlowV).eq(2.0f).all().item<bool>());
}

TEST(EventFileSource, DsecEventsWithFlowPngs) {
  TempDir dir("src_dsec");
  const std::string events = dir.file("events.h5");
  const Toy toy(100);
  std::vector<int64_t> t_us, ms_to_idx;
  for (double t : toy.t) t_us.push_back(std::llround(t * 1e6));  // 10 ms apart
  for (int64_t ms = 0, i = 0; ms <= t_us.back() / 1000; ++ms) {
    while (i < 100 && t_us[static_cast<size_t>(i)] < ms * 1000) ++i;
    ms_to_idx.push_back(i);
  }
  std::vector<int64_t> p01;
  for (int64_t p : toy.p) p01.push_back(p > 0 ? 1 : 0);
  {
    testing::H5Writer w(events);
    w.write("events/x", {100}, H5T_STD_U16LE, toy.x);
    w.write("events/y", {100}, H5T_STD_U16LE, toy.y);
    w.write("events/t", {100}, H5T_STD_U32LE, t_us);
    w.write("events/p", {100}, H5T_STD_U8LE, p01);
    w.write("t_offset", {}, H5T_STD_I64LE, std::vector<int64_t>{2000000});
    w.write("ms_to_idx", {ms_to_idx.size()}, H5T_STD_U64LE, ms_to_idx);
  }
  const std::string flow_dir = dir.file("flow");
  std::filesystem::create_directory(flow_dir);
  testing::write_bytes(
      flow_dir + "/forward_timestamps.txt",
      "# from_timestamp_us, to_timestamp_us\n2000000, 2100000\n2500000, 2800000\n");
  for (const char* name : {"000002.png", "000004.png"}) {
    std::vector<uint16_t> samples;
    for (int i = 0; i < 24; ++i) samples.insert(samples.end(), {32768 + 128, 32768 - 64, 1});
    testing::write_png(flow_dir + "/" + name, 6, 4, 16, 3, samples);
  }
  const ConfigNode node = ConfigNode::parse(
      "format: dsec\nevents: " + events + "\nflow: " + flow_dir + "\nrepresentation: counts\n",
      "f.yaml");
  const Dataset d = load_event_file_source(node);
  node.done();
  ASSERT_EQ(d.inputs.sizes(), (std::vector<int64_t>{2, 5, 2, 4, 6}));
  EXPECT_EQ(d.inputs[0].sum().item<float>(), 10.0f);  // [0, 100) ms: events 0..9
  EXPECT_EQ(d.inputs[1].sum().item<float>(), 30.0f);  // [500, 800) ms: events 50..79
  EXPECT_TRUE(d.targets.select(1, kFlowU).eq(1.0f).all().item<bool>());
  EXPECT_TRUE(d.targets.select(1, kFlowV).eq(-0.5f).all().item<bool>());

  testing::write_bytes(flow_dir + "/forward_timestamps.txt", "0, 1\n");
  try {
    load_event_file_source(node);
    FAIL() << "expected a FileError";
  } catch (const util::FileError& e) {
    EXPECT_NE(std::string(e.what()).find("2 flow PNGs but 1 windows"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace lowbit::data
