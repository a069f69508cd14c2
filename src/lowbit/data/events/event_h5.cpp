#include "lowbit/data/events/event_h5.h"

#include <cmath>

#include "lowbit/util/atomic_file.h"

namespace lowbit::data {
namespace {

std::string at_event(const std::string& path, const std::string& dataset, int64_t i) {
  return path + ": dataset '" + dataset + "' event " + std::to_string(i) + ": ";
}

// Coordinates must be whole pixels of the sensor; `axis` is "x" or "y". The message is built
// only on failure: recordings hold millions of events.
template <class At>
void check_coordinate(double v, int64_t size, const std::string& axis, const At& at) {
  if (!(v >= 0 && v < static_cast<double>(size)) || v != std::floor(v)) {
    throw util::FileError(at() + axis + " = " + std::to_string(v) + " outside 0.." +
                          std::to_string(size - 1) + " (sensor " +
                          (axis == "x" ? "width " : "height ") + std::to_string(size) + ")");
  }
}

EventStream allocate(int64_t n, int64_t height, int64_t width, const std::string& name) {
  EventStream s = empty_events(height, width, name);
  s.x = torch::empty({n}, torch::kInt16);
  s.y = torch::empty({n}, torch::kInt16);
  s.t = torch::empty({n}, torch::kFloat64);
  s.p = torch::empty({n}, torch::kInt8);
  return s;
}

void check_sensor(const std::string& path, int64_t height, int64_t width) {
  if (height < 1 || width < 1 || height > INT16_MAX || width > INT16_MAX) {
    throw std::invalid_argument(path + ": sensor size " + std::to_string(height) + " x " +
                                std::to_string(width) + " (expected 1..32767 each)");
  }
}

}  // namespace

MvsecEventFile::MvsecEventFile(const std::string& path, int64_t height, int64_t width,
                               const std::string& dataset)
    : file_(std::make_shared<H5File>(path)), dataset_(dataset), height_(height), width_(width) {
  check_sensor(path, height, width);
  const H5DatasetInfo info = file_->info(dataset);
  if (info.kind != H5ElementKind::kFloat || info.element_bytes != 8 || info.dims.size() != 2 ||
      info.dims[1] != 4) {
    throw util::FileError(path + ": dataset '" + dataset + "' holds " + info.text() +
                          " (expected float64 [N, 4]: x, y, t, p)");
  }
  size_ = info.dims[0];
}

double MvsecEventFile::time_at(int64_t i) const {
  return file_->read(dataset_, i, i + 1, torch::kFloat64)[0][2].item<double>();
}

int64_t MvsecEventFile::lower_bound(double t) const {
  int64_t lo = 0, hi = size_;
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    if (time_at(mid) < t) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

EventStream MvsecEventFile::read(int64_t begin, int64_t end) const {
  const torch::Tensor table = file_->read(dataset_, begin, end, torch::kFloat64).contiguous();
  const int64_t n = end - begin;
  EventStream s = allocate(n, height_, width_, file_->path() + ":" + dataset_);
  const double* row = table.data_ptr<double>();
  int16_t* x = s.x.data_ptr<int16_t>();
  int16_t* y = s.y.data_ptr<int16_t>();
  double* t = s.t.data_ptr<double>();
  int8_t* p = s.p.data_ptr<int8_t>();
  for (int64_t i = 0; i < n; ++i, row += 4) {
    const auto at = [&] { return at_event(file_->path(), dataset_, begin + i); };
    check_coordinate(row[0], width_, "x", at);
    check_coordinate(row[1], height_, "y", at);
    if (!std::isfinite(row[2]) || (i > 0 && row[2] < t[i - 1])) {
      throw util::FileError(at() + "t = " + std::to_string(row[2]) +
                            " (expected finite times in non-decreasing order)");
    }
    if (row[3] != 1.0 && row[3] != -1.0 && row[3] != 0.0) {
      throw util::FileError(at() + "p = " + std::to_string(row[3]) + " (expected -1, 0 or 1)");
    }
    x[i] = static_cast<int16_t>(row[0]);
    y[i] = static_cast<int16_t>(row[1]);
    t[i] = row[2];
    p[i] = row[3] > 0 ? 1 : -1;
  }
  return s;
}

EventStream MvsecEventFile::read_between(double t_begin, double t_end) const {
  const int64_t begin = lower_bound(t_begin);
  return read(begin, std::max(begin, lower_bound(t_end)));
}

DsecEventFile::DsecEventFile(const std::string& path, int64_t height, int64_t width)
    : file_(std::make_shared<H5File>(path)), height_(height), width_(width) {
  check_sensor(path, height, width);
  size_ = -1;
  for (const char* name : {"events/x", "events/y", "events/t", "events/p"}) {
    const H5DatasetInfo info = file_->info(name);
    if (info.kind != H5ElementKind::kInteger || info.dims.size() != 1) {
      throw util::FileError(path + ": dataset '" + name + "' holds " + info.text() +
                            " (expected integers [N])");
    }
    if (size_ >= 0 && info.dims[0] != size_) {
      throw util::FileError(path + ": dataset '" + name + "' has " + std::to_string(info.dims[0]) +
                            " events but events/x has " + std::to_string(size_));
    }
    size_ = info.dims[0];
  }
  const H5DatasetInfo offset = file_->info("t_offset");
  if (offset.kind != H5ElementKind::kInteger ||
      !(offset.dims.empty() || (offset.dims.size() == 1 && offset.dims[0] == 1))) {
    throw util::FileError(path + ": dataset 't_offset' holds " + offset.text() +
                          " (expected one integer, microseconds)");
  }
  t_offset_ = file_->read_all("t_offset", torch::kInt64).reshape({-1})[0].item<int64_t>();
  const H5DatasetInfo ms = file_->info("ms_to_idx");
  if (ms.kind != H5ElementKind::kInteger || ms.dims.size() != 1) {
    throw util::FileError(path + ": dataset 'ms_to_idx' holds " + ms.text() +
                          " (expected integers [M])");
  }
  ms_entries_ = ms.dims[0];
}

int64_t DsecEventFile::relative_time(int64_t i) const {
  return file_->read("events/t", i, i + 1, torch::kInt64)[0].item<int64_t>();
}

int64_t DsecEventFile::lower_bound_us(int64_t t_us) const {
  const int64_t rel = t_us - t_offset_;
  int64_t lo = 0, hi = size_;
  if (rel > 0 && ms_entries_ > 0) {
    // ms_to_idx[k] is the first event at or after k ms: the answer lies in
    // [ms_to_idx[k], ms_to_idx[k + 1]] for k = rel / 1000.
    const int64_t k = std::min(rel / 1000, ms_entries_ - 1);
    const int64_t end = std::min(k + 2, ms_entries_);
    const torch::Tensor idx = file_->read("ms_to_idx", k, end, torch::kInt64);
    lo = idx[0].item<int64_t>();
    if (k + 1 < end && rel / 1000 == k) hi = idx[1].item<int64_t>();
    if (lo < 0 || hi > size_ || lo > hi) {
      throw util::FileError(file_->path() + ": dataset 'ms_to_idx' entry " + std::to_string(k) +
                            " = " + std::to_string(lo) + " does not fit " + std::to_string(size_) +
                            " events (expected sorted indices 0..N)");
    }
  }
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    if (relative_time(mid) < rel) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

EventStream DsecEventFile::read(int64_t begin, int64_t end) const {
  const torch::Tensor xs = file_->read("events/x", begin, end, torch::kInt64);
  const torch::Tensor ys = file_->read("events/y", begin, end, torch::kInt64);
  const torch::Tensor ts = file_->read("events/t", begin, end, torch::kInt64);
  const torch::Tensor ps = file_->read("events/p", begin, end, torch::kInt64);
  const int64_t n = end - begin;
  EventStream s = allocate(n, height_, width_, file_->path() + ":events");
  const int64_t* xv = xs.data_ptr<int64_t>();
  const int64_t* yv = ys.data_ptr<int64_t>();
  const int64_t* tv = ts.data_ptr<int64_t>();
  const int64_t* pv = ps.data_ptr<int64_t>();
  int16_t* x = s.x.data_ptr<int16_t>();
  int16_t* y = s.y.data_ptr<int16_t>();
  double* t = s.t.data_ptr<double>();
  int8_t* p = s.p.data_ptr<int8_t>();
  for (int64_t i = 0; i < n; ++i) {
    const auto at = [&](const char* d) { return at_event(file_->path(), d, begin + i); };
    check_coordinate(static_cast<double>(xv[i]), width_, "x", [&] { return at("events/x"); });
    check_coordinate(static_cast<double>(yv[i]), height_, "y", [&] { return at("events/y"); });
    if (i > 0 && tv[i] < tv[i - 1]) {
      throw util::FileError(at("events/t") + "t = " + std::to_string(tv[i]) +
                            " is earlier than the event before (expected sorted times)");
    }
    if (pv[i] != 0 && pv[i] != 1) {
      throw util::FileError(at("events/p") + "p = " + std::to_string(pv[i]) + " (expected 0 or 1)");
    }
    x[i] = static_cast<int16_t>(xv[i]);
    y[i] = static_cast<int16_t>(yv[i]);
    t[i] = static_cast<double>(tv[i] + t_offset_) * 1e-6;
    p[i] = pv[i] == 1 ? 1 : -1;
  }
  return s;
}

EventStream DsecEventFile::read_between(double t_begin, double t_end) const {
  const int64_t begin = lower_bound_us(std::llround(t_begin * 1e6));
  return read(begin, std::max(begin, lower_bound_us(std::llround(t_end * 1e6))));
}

}  // namespace lowbit::data
