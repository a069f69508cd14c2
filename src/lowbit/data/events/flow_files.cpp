#include "lowbit/data/events/flow_files.h"

#include <cmath>
#include <map>
#include <sstream>

#include "lowbit/data/files/input_file.h"
#include "lowbit/data/files/npz.h"
#include "lowbit/data/files/png_file.h"
#include "lowbit/util/atomic_file.h"

namespace lowbit::data {
namespace {

std::string shape_of(const torch::Tensor& t) {
  std::string s = "[";
  for (int64_t d = 0; d < t.dim(); ++d) s += (d ? ", " : "") + std::to_string(t.size(d));
  return s + "]";
}

const torch::Tensor& member(const std::map<std::string, torch::Tensor>& arrays,
                            const std::string& path, const std::string& key) {
  const auto it = arrays.find(key);
  if (it == arrays.end()) {
    std::string present;
    for (const auto& [name, _] : arrays) present += (present.empty() ? "" : ", ") + name;
    throw util::FileError(path + ": no array '" + key + "' (the archive holds: " + present + ")");
  }
  return it->second;
}

[[noreturn]] void bad_key(const std::string& path, const std::string& key, const torch::Tensor& t,
                          const std::string& expected) {
  throw util::FileError(path + ": array '" + key + "' has shape " + shape_of(t) + " and dtype " +
                        std::string(c10::toString(t.scalar_type())) + " (expected " + expected +
                        ")");
}

// The first index where `bad` holds, as "element i".
std::string first_bad(const torch::Tensor& bad) {
  return "element " + std::to_string(torch::nonzero(bad.reshape({-1}))[0][0].item<int64_t>());
}

}  // namespace

FlowFrame read_dsec_flow_png(const std::string& path) {
  const torch::Tensor rgb = read_png_rgb16(path);
  FlowFrame out;
  out.flow = (rgb.slice(2, 0, 2).permute({2, 0, 1}).to(torch::kFloat32) - 32768.0f) / 128.0f;
  out.flow = out.flow.contiguous();
  out.valid = rgb.select(2, 2).ne(0).to(torch::kFloat32);
  return out;
}

torch::Tensor read_dsec_flow_timestamps(const std::string& path) {
  const std::string text = read_input_file(path, "a DSEC flow timestamps file");
  std::vector<int64_t> values;
  std::istringstream lines(text);
  std::string line;
  for (int64_t number = 1; std::getline(lines, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos || line[0] == '#') continue;
    long long from = 0, to = 0;
    char comma = 0, extra = 0;
    std::istringstream fields(line);
    if (!(fields >> from >> comma >> to) || comma != ',' || (fields >> extra)) {
      throw util::FileError(path + ":" + std::to_string(number) + ": '" + echo(line) +
                            "' (expected 'from_us, to_us')");
    }
    if (to <= from) {
      throw util::FileError(path + ":" + std::to_string(number) + ": window ends at " +
                            std::to_string(to) + " before it starts at " + std::to_string(from));
    }
    values.push_back(from);
    values.push_back(to);
  }
  if (values.empty()) throw util::FileError(path + ": no timestamps (expected 'from_us, to_us')");
  return torch::tensor(values, torch::kInt64).reshape({-1, 2});
}

MvsecFlow read_mvsec_flow(const std::string& path) {
  const auto arrays = read_npz(path);
  const torch::Tensor& ts = member(arrays, path, "timestamps");
  const torch::Tensor& u = member(arrays, path, "x_flow_dist");
  const torch::Tensor& v = member(arrays, path, "y_flow_dist");
  if (ts.dim() != 1 || ts.size(0) < 1 || !ts.is_floating_point()) {
    bad_key(path, "timestamps", ts, "floating-point [M], M >= 1");
  }
  const int64_t m = ts.size(0);
  if (u.dim() != 3 || u.size(0) != m || !u.is_floating_point()) {
    bad_key(path, "x_flow_dist", u, "floating-point [" + std::to_string(m) + ", H, W]");
  }
  if (v.sizes() != u.sizes() || !v.is_floating_point()) {
    bad_key(path, "y_flow_dist", v, "floating-point " + shape_of(u) + " like x_flow_dist");
  }
  MvsecFlow out;
  out.timestamps = ts.to(torch::kFloat64).contiguous();
  const torch::Tensor bad_time =
      torch::isfinite(out.timestamps)
          .logical_not()
          .logical_or(
              torch::cat({torch::zeros({1}, torch::kBool),
                          out.timestamps.slice(0, 1).le(out.timestamps.slice(0, 0, m - 1))}));
  if (bad_time.any().item<bool>()) {
    throw util::FileError(path + ": array 'timestamps' " + first_bad(bad_time) +
                          " is not finite or not after the one before (expected increasing)");
  }
  out.flow = torch::stack({u, v}, 1).to(torch::kFloat32).contiguous();
  out.valid =
      torch::isfinite(out.flow).all(1).logical_and(out.flow.ne(0).any(1)).to(torch::kFloat32);
  out.flow = torch::where(out.valid.unsqueeze(1).ne(0), out.flow, torch::zeros({}));
  return out;
}

torch::Tensor mvsec_flow_windows(const MvsecFlow& gt) {
  const int64_t m = gt.timestamps.size(0);
  return torch::stack({gt.timestamps.slice(0, 0, m - 1), gt.timestamps.slice(0, 1)}, 1);
}

EventFlowRecording read_event_flow_npz(const std::string& path) {
  const auto arrays = read_npz(path);
  const torch::Tensor& flow = member(arrays, path, "flow");
  const torch::Tensor& windows = member(arrays, path, "windows");
  if (flow.dim() != 4 || flow.size(1) != 2 || flow.size(0) < 1 || !flow.is_floating_point()) {
    bad_key(path, "flow", flow, "floating-point [M, 2, H, W], M >= 1");
  }
  const int64_t m = flow.size(0), h = flow.size(2), w = flow.size(3);
  if (h < 1 || w < 1 || h > INT16_MAX || w > INT16_MAX) {
    bad_key(path, "flow", flow, "a sensor of 1..32767 rows and columns");
  }
  if (windows.dim() != 2 || windows.size(0) != m || windows.size(1) != 2) {
    bad_key(path, "windows", windows, "[" + std::to_string(m) + ", 2]: (t_begin, t_end)");
  }
  EventFlowRecording rec;
  rec.windows = windows.to(torch::kFloat64).contiguous();
  const torch::Tensor bad_window =
      torch::isfinite(rec.windows)
          .all(1)
          .logical_not()
          .logical_or(rec.windows.select(1, 1).le(rec.windows.select(1, 0)));
  if (bad_window.any().item<bool>()) {
    throw util::FileError(path + ": array 'windows' row " +
                          std::to_string(torch::nonzero(bad_window)[0][0].item<int64_t>()) +
                          " is not finite or ends before it begins");
  }
  rec.flow = flow.to(torch::kFloat32).contiguous();
  if (arrays.count("valid")) {
    const torch::Tensor& valid = arrays.at("valid");
    if (valid.dim() != 3 || valid.size(0) != m || valid.size(1) != h || valid.size(2) != w) {
      bad_key(path, "valid", valid,
              "[" + std::to_string(m) + ", " + std::to_string(h) + ", " + std::to_string(w) +
                  "] like flow");
    }
    rec.valid = valid.ne(0).logical_and(torch::isfinite(rec.flow).all(1)).to(torch::kFloat32);
  } else {
    rec.valid = torch::isfinite(rec.flow).all(1).to(torch::kFloat32);
  }

  std::vector<torch::Tensor> columns;
  int64_t n = -1;
  for (const char* key : {"x", "y", "t", "p"}) {
    const torch::Tensor& c = member(arrays, path, key);
    if (c.dim() != 1 || (n >= 0 && c.size(0) != n) || c.scalar_type() == torch::kBool) {
      bad_key(path, key, c, n >= 0 ? "numbers [" + std::to_string(n) + "] like x" : "numbers [N]");
    }
    n = c.size(0);
    columns.push_back(c.to(torch::kFloat64).contiguous());
  }
  const auto check = [&](const char* key, const torch::Tensor& bad, const std::string& expected) {
    if (bad.any().item<bool>()) {
      const int64_t i = torch::nonzero(bad)[0][0].item<int64_t>();
      const int64_t k = std::string("xytp").find(key[0]);
      throw util::FileError(path + ": array '" + key + "' event " + std::to_string(i) + ": " +
                            std::to_string(columns[static_cast<size_t>(k)][i].item<double>()) +
                            " (expected " + expected + ")");
    }
  };
  const auto outside = [](const torch::Tensor& c, int64_t size) {
    return c.lt(0).logical_or(c.ge(size)).logical_or(c.ne(c.floor()));
  };
  check("x", outside(columns[0], w),
        "whole pixels 0.." + std::to_string(w - 1) + ", the flow's width");
  check("y", outside(columns[1], h),
        "whole pixels 0.." + std::to_string(h - 1) + ", the flow's height");
  const torch::Tensor& t = columns[2];
  torch::Tensor unsorted = torch::isfinite(t).logical_not();
  if (n > 1) {
    unsorted = unsorted.logical_or(
        torch::cat({torch::zeros({1}, torch::kBool), t.slice(0, 1).lt(t.slice(0, 0, n - 1))}));
  }
  check("t", unsorted, "finite times in non-decreasing order");
  const torch::Tensor& p = columns[3];
  check("p", p.ne(1).logical_and(p.ne(0)).logical_and(p.ne(-1)), "-1, 0 or 1");

  rec.events = empty_events(h, w, path);
  rec.events.x = columns[0].to(torch::kInt16);
  rec.events.y = columns[1].to(torch::kInt16);
  rec.events.t = t;
  rec.events.p =
      torch::where(p.gt(0), torch::ones({}, torch::kInt8), -torch::ones({}, torch::kInt8));
  return rec;
}

}  // namespace lowbit::data
