#include "lowbit/data/events/event_h5.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "data/event_files.h"
#include "data/test_files.h"
#include "lowbit/util/atomic_file.h"

namespace lowbit::data {
namespace {

using testing::file_error_of;
using testing::H5Writer;
using testing::mentions;
using testing::TempDir;

// MVSEC rows (x, y, t, p) for n events: x = i % 7, y = i % 5, t = 100 + i / 100 s, p = +-1.
std::vector<double> mvsec_rows(int n) {
  std::vector<double> rows;
  for (int i = 0; i < n; ++i) {
    rows.insert(rows.end(), {static_cast<double>(i % 7), static_cast<double>(i % 5),
                             100.0 + i / 100.0, i % 3 == 0 ? -1.0 : 1.0});
  }
  return rows;
}

TEST(MvsecEvents, ReadsEventsAndWindowsByTime) {
  TempDir dir("mvsec");
  const std::string path = dir.file("seq_data.hdf5");
  const int n = 1000;
  {
    H5Writer w(path);
    w.write("davis/left/events", {static_cast<hsize_t>(n), 4}, H5T_IEEE_F64LE, mvsec_rows(n));
  }
  const MvsecEventFile file(path, 5, 7);
  ASSERT_EQ(file.size(), n);
  const EventStream all = file.read(0, n);
  all.check();
  EXPECT_EQ(all.x[13].item<int16_t>(), 13 % 7);
  EXPECT_EQ(all.y[13].item<int16_t>(), 13 % 5);
  EXPECT_DOUBLE_EQ(all.t[13].item<double>(), 100.13);
  EXPECT_EQ(all.p[12].item<int8_t>(), -1);
  EXPECT_EQ(all.p[13].item<int8_t>(), 1);
  // [101.005, 102.5): events 101 (t = 101.01) .. 249 (t = 102.49).
  const EventStream part = file.read_between(101.005, 102.5);
  ASSERT_EQ(part.size(), 149);
  EXPECT_DOUBLE_EQ(part.t[0].item<double>(), 101.01);
  EXPECT_EQ(file.lower_bound(0.0), 0);
  EXPECT_EQ(file.lower_bound(1e9), n);
  EXPECT_EQ(file.read_between(200.0, 300.0).size(), 0);
}

TEST(MvsecEvents, WrongLayoutsNameTheFileAndDataset) {
  TempDir dir("mvsec_bad");
  const std::string missing = dir.file("missing.hdf5");
  {
    H5Writer w(missing);
    w.write("davis/right/events", {2, 4}, H5T_IEEE_F64LE, mvsec_rows(2));
  }
  std::string e = file_error_of([&] { MvsecEventFile f(missing); });
  EXPECT_TRUE(mentions(e, missing) && mentions(e, "davis/left/events") &&
              mentions(e, "'davis/left'"))
      << e;

  const std::string shape = dir.file("shape.hdf5");
  {
    H5Writer w(shape);
    w.write("davis/left/events", {2, 3}, H5T_IEEE_F64LE, std::vector<double>(6, 0.0));
  }
  e = file_error_of([&] { MvsecEventFile f(shape); });
  EXPECT_TRUE(mentions(e, shape) && mentions(e, "float64 [2, 3]") && mentions(e, "[N, 4]")) << e;

  const std::string dtype = dir.file("dtype.hdf5");
  {
    H5Writer w(dtype);
    w.write("davis/left/events", {2, 4}, H5T_STD_I32LE, std::vector<int32_t>(8, 0));
  }
  e = file_error_of([&] { MvsecEventFile f(dtype); });
  EXPECT_TRUE(mentions(e, dtype) && mentions(e, "int32 [2, 4]")) << e;
}

TEST(MvsecEvents, OutOfRangeEventsNameTheEvent) {
  TempDir dir("mvsec_range");
  const std::string path = dir.file("range.hdf5");
  std::vector<double> rows = mvsec_rows(10);
  rows[4 * 6 + 0] = 400.0;  // x of event 6 on a 346-wide sensor
  rows[4 * 8 + 3] = 2.0;    // polarity of event 8
  {
    H5Writer w(path);
    w.write("davis/left/events", {10, 4}, H5T_IEEE_F64LE, rows);
  }
  const MvsecEventFile file(path);
  EXPECT_EQ(file.read(0, 6).size(), 6);
  std::string e = file_error_of([&] { file.read(0, 10); });
  EXPECT_TRUE(mentions(e, path) && mentions(e, "davis/left/events") && mentions(e, "event 6") &&
              mentions(e, "x = 400"))
      << e;
  e = file_error_of([&] { file.read(7, 10); });
  EXPECT_TRUE(mentions(e, "event 8") && mentions(e, "p = 2")) << e;
  e = file_error_of([&] { file.read(5, 11); });
  EXPECT_TRUE(mentions(e, "rows 5..11")) << e;
}

TEST(Hdf5File, TruncatedAndForeignFilesAreClearErrors) {
  TempDir dir("h5_trunc");
  const std::string path = dir.file("cut.hdf5");
  {
    H5Writer w(path);
    w.write("davis/left/events", {4000, 4}, H5T_IEEE_F64LE, mvsec_rows(4000));
  }
  std::filesystem::resize_file(path, std::filesystem::file_size(path) / 2);
  std::string e = file_error_of([&] { MvsecEventFile f(path); });
  EXPECT_TRUE(mentions(e, path) && mentions(e, "truncated")) << e;

  const std::string text = dir.file("text.hdf5");
  testing::write_bytes(text, "not an HDF5 file at all");
  e = file_error_of([&] { H5File f(text); });
  EXPECT_TRUE(mentions(e, text) && mentions(e, "not a readable HDF5 file")) << e;
  e = file_error_of([&] { H5File f(dir.file("absent.h5")); });
  EXPECT_TRUE(mentions(e, "no such file")) << e;
  e = file_error_of([&] { H5File f(dir.path()); });
  EXPECT_TRUE(mentions(e, "is a folder")) << e;
}

TEST(Hdf5File, DeclaredSizeBeyondTheStoredBytesIsRefusedBeforeAllocating) {
  TempDir dir("h5_bomb");
  const std::string path = dir.file("bomb.hdf5");
  {
    H5Writer w(path);
    w.declare_only("davis/left/events", {1u << 30, 4}, H5T_IEEE_F64LE);  // 32 GiB declared
  }
  ASSERT_LT(std::filesystem::file_size(path), 100000u);
  const MvsecEventFile file(path);
  EXPECT_EQ(file.size(), int64_t{1} << 30);
  const long before = testing::peak_rss_mib();
  const std::string e = file_error_of([&] { file.read(0, file.size()); });
  EXPECT_TRUE(mentions(e, path) && mentions(e, "davis/left/events") && mentions(e, "declares"))
      << e;
  EXPECT_LT(testing::peak_rss_mib() - before, 256) << "memory grew with the declared size";
}

// A DSEC file with n events: x = i % 640, y = i % 480, t = 250 i us after t_offset, p = i % 2.
void write_dsec(const std::string& path, int n, int64_t t_offset) {
  std::vector<int64_t> x, y, t, p;
  for (int i = 0; i < n; ++i) {
    x.push_back(i % 640);
    y.push_back(i % 480);
    t.push_back(250 * i);
    p.push_back(i % 2);
  }
  std::vector<int64_t> ms_to_idx;  // first event at or after each millisecond
  for (int64_t ms = 0, i = 0; ms <= t.back() / 1000; ++ms) {
    while (i < n && t[static_cast<size_t>(i)] < ms * 1000) ++i;
    ms_to_idx.push_back(i);
  }
  H5Writer w(path);
  const auto count = static_cast<hsize_t>(n);
  w.write("events/x", {count}, H5T_STD_U16LE, x);
  w.write("events/y", {count}, H5T_STD_U16LE, y);
  w.write("events/t", {count}, H5T_STD_U32LE, t);
  w.write("events/p", {count}, H5T_STD_U8LE, p);
  w.write("t_offset", {}, H5T_STD_I64LE, std::vector<int64_t>{t_offset});
  w.write("ms_to_idx", {ms_to_idx.size()}, H5T_STD_U64LE, ms_to_idx);
}

TEST(DsecEvents, ReadsWindowsThroughMsToIdx) {
  TempDir dir("dsec");
  const std::string path = dir.file("events.h5");
  const int64_t offset = 1000000000;  // microseconds
  write_dsec(path, 2000, offset);
  const DsecEventFile file(path);
  ASSERT_EQ(file.size(), 2000);
  EXPECT_EQ(file.t_offset_us(), offset);
  for (int64_t t : {int64_t{0}, int64_t{1}, int64_t{1000}, int64_t{1001}, int64_t{123456},
                    int64_t{499750}, int64_t{600000}}) {
    // Event i is at 250 i: the first at or after t is ceil(t / 250).
    EXPECT_EQ(file.lower_bound_us(offset + t), std::min<int64_t>(2000, (t + 249) / 250)) << t;
  }
  EXPECT_EQ(file.lower_bound_us(0), 0);
  const EventStream part = file.read_between((offset + 10000) * 1e-6, (offset + 20000) * 1e-6);
  ASSERT_EQ(part.size(), 40);  // events 40..79
  part.check();
  EXPECT_EQ(part.x[0].item<int16_t>(), 40);
  EXPECT_EQ(part.p[0].item<int8_t>(), -1);  // p = 0 is OFF
  EXPECT_EQ(part.p[1].item<int8_t>(), 1);
  EXPECT_NEAR(part.t[1].item<double>(), (offset + 41 * 250) * 1e-6, 1e-7);
}

TEST(DsecEvents, WrongLayoutsNameTheFileAndDataset) {
  TempDir dir("dsec_bad");
  const std::string path = dir.file("events.h5");
  {
    H5Writer w(path);
    w.write("events/x", {3}, H5T_STD_U16LE, std::vector<int64_t>{1, 2, 3});
    w.write("events/y", {2}, H5T_STD_U16LE, std::vector<int64_t>{1, 2});
    w.write("events/t", {3}, H5T_STD_U32LE, std::vector<int64_t>{1, 2, 3});
    w.write("events/p", {3}, H5T_STD_U8LE, std::vector<int64_t>{0, 1, 0});
  }
  std::string e = file_error_of([&] { DsecEventFile f(path); });
  EXPECT_TRUE(mentions(e, path) && mentions(e, "events/y") && mentions(e, "2 events")) << e;

  const std::string no_offset = dir.file("no_offset.h5");
  {
    H5Writer w(no_offset);
    for (const char* name : {"events/x", "events/y", "events/t", "events/p"}) {
      w.write(name, {2}, H5T_STD_U16LE, std::vector<int64_t>{0, 1});
    }
  }
  e = file_error_of([&] { DsecEventFile f(no_offset); });
  EXPECT_TRUE(mentions(e, no_offset) && mentions(e, "t_offset")) << e;

  const std::string floats = dir.file("floats.h5");
  {
    H5Writer w(floats);
    w.write("events/x", {2}, H5T_IEEE_F32LE, std::vector<double>{0, 1});
  }
  e = file_error_of([&] { DsecEventFile f(floats); });
  EXPECT_TRUE(mentions(e, "events/x") && mentions(e, "float32 [2]")) << e;
}

TEST(DsecEvents, OutOfRangeEventsNameTheDataset) {
  TempDir dir("dsec_range");
  const std::string path = dir.file("events.h5");
  write_dsec(path, 50, 0);
  const DsecEventFile small(path, 480, 20);  // x goes up to 49
  std::string e = file_error_of([&] { small.read(0, 50); });
  EXPECT_TRUE(mentions(e, path) && mentions(e, "events/x") && mentions(e, "event 20") &&
              mentions(e, "x = 20"))
      << e;
}

}  // namespace
}  // namespace lowbit::data
