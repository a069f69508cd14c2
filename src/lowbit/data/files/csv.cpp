#include "lowbit/data/files/csv.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <sstream>
#include <unordered_map>

#include "lowbit/data/files/input_file.h"
#include "lowbit/util/atomic_file.h"

namespace lowbit::data {
namespace {

std::string trim(const std::string& s) {
  const auto begin = s.find_first_not_of(" \t");
  if (begin == std::string::npos) return "";
  const auto end = s.find_last_not_of(" \t");
  return s.substr(begin, end - begin + 1);
}

std::vector<std::string> split_line(const std::string& line, char delimiter) {
  std::vector<std::string> cells;
  std::string cell;
  std::istringstream in(line);
  while (std::getline(in, cell, delimiter)) cells.push_back(trim(cell));
  // getline drops an empty last cell ("a,b," has three cells).
  if (!line.empty() && line.back() == delimiter) cells.emplace_back();
  return cells;
}

std::string where(const std::string& path, size_t line, const std::string& column) {
  return path + ":" + std::to_string(line) + ": column '" + echo(column) + "'";
}

double parse_number(const std::string& cell, const std::string& path, size_t line,
                    const std::string& column) {
  if (cell.empty())
    throw util::FileError(where(path, line, column) + ": empty cell (expected a number)");
  errno = 0;
  char* end = nullptr;
  const double value = std::strtod(cell.c_str(), &end);
  if (end != cell.c_str() + cell.size() || errno == ERANGE || !std::isfinite(value)) {
    throw util::FileError(where(path, line, column) + ": '" + echo(cell) +
                          "' is not a finite number");
  }
  // Features and float targets are stored as float32; beyond its range they would become inf.
  if (std::fabs(value) > std::numeric_limits<float>::max()) {
    throw util::FileError(where(path, line, column) + ": '" + echo(cell) +
                          "' is outside the float32 range (largest magnitude 3.4e38)");
  }
  return value;
}

}  // namespace

Dataset read_csv(const std::string& path, const CsvOptions& options) {
  if (options.label_column.empty()) {
    throw std::invalid_argument("read_csv(" + path + "): label_column must be given");
  }
  const std::string text = read_input_file(path, "a CSV file");
  std::istringstream in(text);
  std::string line;
  size_t line_no = 0;
  std::vector<std::string> header;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!trim(line).empty()) {
      header = split_line(line, options.delimiter);
      break;
    }
  }
  if (header.empty()) throw util::FileError(path + ": empty file (expected a header row)");
  std::unordered_map<std::string, size_t> column_of;
  for (size_t c = 0; c < header.size(); ++c) {
    if (!column_of.emplace(header[c], c).second) {
      throw util::FileError(path + ":" + std::to_string(line_no) + ": duplicate column name '" +
                            echo(header[c]) + "'");
    }
  }
  auto column = [&](const std::string& name) {
    const auto it = column_of.find(name);
    if (it == column_of.end()) {
      throw util::FileError(path + ": no column named '" + name + "' in the header");
    }
    return it->second;
  };
  const size_t label_col = column(options.label_column);
  std::vector<size_t> feature_cols;
  if (options.feature_columns.empty()) {
    for (size_t c = 0; c < header.size(); ++c) {
      if (c != label_col) feature_cols.push_back(c);
    }
  } else {
    for (const auto& name : options.feature_columns) feature_cols.push_back(column(name));
  }
  std::vector<float> features;
  std::vector<double> labels;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (trim(line).empty()) continue;
    const auto cells = split_line(line, options.delimiter);
    if (cells.size() != header.size()) {
      throw util::FileError(path + ":" + std::to_string(line_no) + ": " +
                            std::to_string(cells.size()) + " cells (expected " +
                            std::to_string(header.size()) + " as in the header)");
    }
    for (size_t c : feature_cols) {
      features.push_back(static_cast<float>(parse_number(cells[c], path, line_no, header[c])));
    }
    const double label = parse_number(cells[label_col], path, line_no, header[label_col]);
    if (options.integer_labels &&
        (label < 0 || label != std::floor(label) || label > static_cast<double>(kMaxClassId))) {
      throw util::FileError(where(path, line_no, header[label_col]) + ": '" +
                            echo(cells[label_col]) + "' is not an integer class id in 0.." +
                            std::to_string(kMaxClassId));
    }
    labels.push_back(label);
  }
  if (labels.empty()) {
    throw util::FileError(path + ": no data rows after the header (expected at least one sample)");
  }
  const auto n = static_cast<int64_t>(labels.size());
  const auto f = static_cast<int64_t>(feature_cols.size());
  Dataset out;
  out.inputs = torch::from_blob(features.data(), {n, f}, torch::kFloat32).clone();
  out.name = path;
  if (options.integer_labels) {
    std::vector<int64_t> ids(labels.begin(), labels.end());
    out.targets = torch::tensor(ids, torch::kInt64).reshape({n});
    int64_t max_id = -1;
    for (int64_t id : ids) max_id = std::max(max_id, id);
    out.num_classes = max_id + 1;
  } else {
    std::vector<float> values(labels.begin(), labels.end());
    out.targets = torch::tensor(values, torch::kFloat32).reshape({n});
  }
  return out;
}

}  // namespace lowbit::data
