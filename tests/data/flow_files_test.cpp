#include "lowbit/data/events/flow_files.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <string>

#include "data/event_files.h"
#include "data/test_files.h"
#include "data/zip_writer.h"
#include "lowbit/data/events/event_flow.h"
#include "lowbit/data/files/npy.h"
#include "lowbit/data/files/png_file.h"
#include "lowbit/util/atomic_file.h"

namespace lowbit::data {
namespace {

using testing::file_error_of;
using testing::mentions;
using testing::TempDir;

// Writes an .npz archive of `arrays` (stored members).
void write_npz(const std::string& path,
               const std::vector<std::pair<std::string, torch::Tensor>>& arrays) {
  std::vector<testing::Member> members;
  for (const auto& [name, t] : arrays) members.push_back({name + ".npy", npy_bytes(t, name)});
  testing::write_bytes(path, testing::zip_bytes(members));
}

TEST(DsecFlowPng, DecodesUVAndValid) {
  TempDir dir("dsec_png");
  const std::string path = dir.file("000000.png");
  const uint32_t w = 5, h = 3;
  std::vector<uint16_t> samples;
  for (uint32_t y = 0; y < h; ++y) {
    for (uint32_t x = 0; x < w; ++x) {
      // u = (R - 32768) / 128 = x - 2.5, v = y * 0.25 - 100, valid unless (x, y) = (1, 2).
      samples.push_back(static_cast<uint16_t>(32768 + 128 * x - 320));
      samples.push_back(static_cast<uint16_t>(32768 + 32 * y - 12800));
      samples.push_back(x == 1 && y == 2 ? 0 : 1);
    }
  }
  testing::write_png(path, w, h, 16, 3, samples);
  const FlowFrame f = read_dsec_flow_png(path);
  ASSERT_EQ(f.flow.sizes(), (std::vector<int64_t>{2, 3, 5}));
  ASSERT_EQ(f.valid.sizes(), (std::vector<int64_t>{3, 5}));
  for (uint32_t y = 0; y < h; ++y) {
    for (uint32_t x = 0; x < w; ++x) {
      EXPECT_EQ(f.flow[0][y][x].item<float>(), static_cast<float>(x) - 2.5f);
      EXPECT_EQ(f.flow[1][y][x].item<float>(), static_cast<float>(y) * 0.25f - 100.0f);
      EXPECT_EQ(f.valid[y][x].item<float>(), x == 1 && y == 2 ? 0.0f : 1.0f);
    }
  }
}

TEST(DsecFlowPng, BadFilesAreClearErrors) {
  TempDir dir("dsec_png_bad");
  const std::string eight = dir.file("eight.png");
  testing::write_png(eight, 2, 2, 8, 3, std::vector<uint16_t>(12, 7));
  std::string e = file_error_of([&] { read_dsec_flow_png(eight); });
  EXPECT_TRUE(mentions(e, eight) && mentions(e, "8-bit") && mentions(e, "expected 16-bit RGB"))
      << e;
  const std::string rgba = dir.file("rgba.png");
  testing::write_png(rgba, 2, 2, 16, 4, std::vector<uint16_t>(16, 7));
  e = file_error_of([&] { read_dsec_flow_png(rgba); });
  EXPECT_TRUE(mentions(e, "colour type 6")) << e;

  const std::string good = dir.file("good.png");
  std::vector<uint16_t> noise;
  for (int i = 0; i < 64 * 64 * 3; ++i) noise.push_back(static_cast<uint16_t>(i * 7919));
  testing::write_png(good, 64, 64, 16, 3, noise);
  const std::string bytes = util::read_file(good);
  const std::string cut = dir.file("cut.png");
  testing::write_bytes(cut, bytes.substr(0, bytes.size() / 2));
  e = file_error_of([&] { read_dsec_flow_png(cut); });
  EXPECT_TRUE(mentions(e, cut) && mentions(e, "unreadable PNG")) << e;

  // A header declaring 60000 x 60000 pixels (21.6 GB) in a file of a few KiB.
  std::string bomb = bytes;
  for (int k = 0; k < 2; ++k) {
    const std::string size = testing::be32(60000);
    bomb.replace(static_cast<size_t>(16 + 4 * k), 4, size);
  }
  const uLong crc = crc32(0L, reinterpret_cast<const Bytef*>(bomb.data() + 12), 17);
  bomb.replace(29, 4, testing::be32(static_cast<uint32_t>(crc)));
  const std::string bomb_path = dir.file("bomb.png");
  testing::write_bytes(bomb_path, bomb);
  const long before = testing::peak_rss_mib();
  e = file_error_of([&] { read_dsec_flow_png(bomb_path); });
  EXPECT_TRUE(mentions(e, bomb_path) && mentions(e, "declares 60000 x 60000")) << e;
  EXPECT_LT(testing::peak_rss_mib() - before, 256);

  const std::string text = dir.file("text.png");
  testing::write_bytes(text, "GIF89a....");
  e = file_error_of([&] { read_dsec_flow_png(text); });
  EXPECT_TRUE(mentions(e, "not a PNG file")) << e;
}

TEST(DsecFlowTimestamps, ParsesWindowsAndNamesBadLines) {
  TempDir dir("dsec_ts");
  const std::string path = dir.file("forward_timestamps.txt");
  testing::write_bytes(path, "# from_timestamp_us, to_timestamp_us\n100, 200\r\n300,400\n\n");
  const torch::Tensor t = read_dsec_flow_timestamps(path);
  ASSERT_EQ(t.sizes(), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(t[1][0].item<int64_t>(), 300);
  EXPECT_EQ(t[1][1].item<int64_t>(), 400);
  testing::write_bytes(path, "# header\n100, 200\n300; 400\n");
  std::string e = file_error_of([&] { read_dsec_flow_timestamps(path); });
  EXPECT_TRUE(mentions(e, path + ":3")) << e;
  testing::write_bytes(path, "100, 50\n");
  e = file_error_of([&] { read_dsec_flow_timestamps(path); });
  EXPECT_TRUE(mentions(e, path + ":1") && mentions(e, "before it starts")) << e;
}

TEST(MvsecFlow, ReadsFlowAndMarksZerosInvalid) {
  TempDir dir("mvsec_flow");
  const std::string path = dir.file("seq_gt_flow_dist.npz");
  torch::Tensor u = torch::arange(3 * 4 * 5, torch::kFloat64).reshape({3, 4, 5}) * 0.5;
  torch::Tensor v = -u.clone();
  u[1][2][3] = 0;
  v[1][2][3] = 0;  // unknown depth: (0, 0)
  write_npz(path, {{"timestamps", torch::tensor({10.0, 10.05, 10.1}, torch::kFloat64)},
                   {"x_flow_dist", u},
                   {"y_flow_dist", v}});
  const MvsecFlow gt = read_mvsec_flow(path);
  ASSERT_EQ(gt.flow.sizes(), (std::vector<int64_t>{3, 2, 4, 5}));
  EXPECT_EQ(gt.valid[1][2][3].item<float>(), 0.0f);
  EXPECT_EQ(gt.valid[0][0][0].item<float>(), 0.0f);  // u = v = 0 there too
  EXPECT_EQ(gt.valid.sum().item<float>(), 3 * 4 * 5 - 2);
  EXPECT_EQ(gt.flow[2][1][3][4].item<double>(), v[2][3][4].item<double>());
  const torch::Tensor windows = mvsec_flow_windows(gt);
  ASSERT_EQ(windows.sizes(), (std::vector<int64_t>{2, 2}));
  EXPECT_DOUBLE_EQ(windows[1][0].item<double>(), 10.05);
  EXPECT_DOUBLE_EQ(windows[1][1].item<double>(), 10.1);

  write_npz(path, {{"timestamps", torch::tensor({10.0, 10.05, 10.1}, torch::kFloat64)},
                   {"x_flow_dist", u}});
  std::string e = file_error_of([&] { read_mvsec_flow(path); });
  EXPECT_TRUE(mentions(e, path) && mentions(e, "'y_flow_dist'")) << e;
  write_npz(path, {{"timestamps", torch::tensor({10.0, 10.05, 10.1}, torch::kFloat64)},
                   {"x_flow_dist", u},
                   {"y_flow_dist", v.slice(2, 0, 4)}});
  e = file_error_of([&] { read_mvsec_flow(path); });
  EXPECT_TRUE(mentions(e, "'y_flow_dist'") && mentions(e, "[3, 4, 4]")) << e;
  write_npz(path, {{"timestamps", torch::tensor({10.0, 10.2, 10.1}, torch::kFloat64)},
                   {"x_flow_dist", u},
                   {"y_flow_dist", v}});
  e = file_error_of([&] { read_mvsec_flow(path); });
  EXPECT_TRUE(mentions(e, "'timestamps' element 2")) << e;
}

TEST(EventFlowNpz, ReadsARecordingAndBuildsAFlowDataSet) {
  TempDir dir("event_npz");
  const std::string path = dir.file("recording.npz");
  // 6 events on a 3 x 4 sensor, two windows [0, 1) and [1, 2).
  const torch::Tensor x = torch::tensor({0, 1, 2, 3, 0, 1}, torch::kInt64);
  const torch::Tensor y = torch::tensor({0, 1, 2, 0, 1, 2}, torch::kInt64);
  const torch::Tensor t = torch::tensor({0.1, 0.5, 0.9, 1.0, 1.5, 1.99}, torch::kFloat64);
  const torch::Tensor p = torch::tensor({1, 0, -1, 1, 1, 0}, torch::kInt64);
  const torch::Tensor flow = torch::randn({2, 2, 3, 4});
  const torch::Tensor windows =
      torch::tensor({0.0, 1.0, 1.0, 2.0}, torch::kFloat64).reshape({2, 2});
  write_npz(path, {{"x", x}, {"y", y}, {"t", t}, {"p", p}, {"flow", flow}, {"windows", windows}});
  const EventFlowRecording rec = read_event_flow_npz(path);
  rec.events.check();
  EXPECT_EQ(rec.events.height, 3);
  EXPECT_EQ(rec.events.width, 4);
  EXPECT_EQ(rec.events.p[1].item<int8_t>(), -1);
  EXPECT_EQ(rec.valid.sum().item<float>(), 2 * 3 * 4);

  const Dataset d = event_flow_dataset(
      [&](double a, double b) { return events_between(rec.events, a, b); }, rec.windows, rec.flow,
      rec.valid, 2, EventRepresentation::kCounts, "recording");
  ASSERT_EQ(d.inputs.sizes(), (std::vector<int64_t>{2, 2, 2, 3, 4}));
  EXPECT_EQ(d.inputs[0].sum().item<float>(), 3.0f);
  EXPECT_EQ(d.inputs[1].sum().item<float>(), 3.0f);
  EXPECT_EQ(d.inputs[1][0][0][0][3].item<float>(), 1.0f);  // t = 1.0: window 1, first half, ON
  EXPECT_EQ(d.inputs[1][1][1][2][1].item<float>(), 1.0f);  // t = 1.99: second half, OFF
  EXPECT_TRUE(torch::equal(d.targets.slice(1, 0, 2), flow));

  write_npz(path, {{"x", torch::tensor({0, 4}, torch::kInt64)},
                   {"y", y.slice(0, 0, 2)},
                   {"t", t.slice(0, 0, 2)},
                   {"p", p.slice(0, 0, 2)},
                   {"flow", flow},
                   {"windows", windows}});
  std::string e = file_error_of([&] { read_event_flow_npz(path); });
  EXPECT_TRUE(mentions(e, path) && mentions(e, "'x' event 1") && mentions(e, "0..3")) << e;
  write_npz(path,
            {{"x", x}, {"y", y}, {"t", t.flip(0)}, {"p", p}, {"flow", flow}, {"windows", windows}});
  e = file_error_of([&] { read_event_flow_npz(path); });
  EXPECT_TRUE(mentions(e, "'t' event 1")) << e;
  write_npz(
      path,
      {{"x", x}, {"y", y}, {"t", t}, {"p", p}, {"flow", flow.select(1, 0)}, {"windows", windows}});
  e = file_error_of([&] { read_event_flow_npz(path); });
  EXPECT_TRUE(mentions(e, "'flow'") && mentions(e, "[M, 2, H, W]")) << e;
  write_npz(path, {{"x", x}, {"y", y}, {"t", t}, {"flow", flow}, {"windows", windows}});
  e = file_error_of([&] { read_event_flow_npz(path); });
  EXPECT_TRUE(mentions(e, "no array 'p'")) << e;
}

}  // namespace
}  // namespace lowbit::data
