#include "lowbit/train/report/csv_log.h"

#include <cstdio>
#include <stdexcept>
#include <utility>

namespace lowbit::train {
namespace {

std::string csv_line(const std::vector<std::string>& cells) {
  std::string line;
  for (size_t i = 0; i < cells.size(); ++i) {
    if (i > 0) line += ',';
    line += csv_escape(cells[i]);
  }
  return line;
}

}  // namespace

std::string csv_escape(const std::string& cell) {
  if (cell.find_first_of(",\"\r\n") == std::string::npos) return cell;
  std::string quoted = "\"";
  for (char c : cell) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

std::string format_number(double value, int significant) {
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.*g", significant, value);
  return buffer;
}

CsvLog::CsvLog(std::string path, std::vector<std::string> columns)
    : path_(std::move(path)), columns_(std::move(columns)) {
  if (columns_.empty()) throw std::invalid_argument("CsvLog " + path_ + ": no columns");
  const std::string header = csv_line(columns_);
  std::string existing;
  {
    std::ifstream in(path_);
    if (in) std::getline(in, existing);
  }
  if (!existing.empty() && existing != header) {
    throw std::runtime_error("CsvLog " + path_ + ": the file has columns '" + existing +
                             "' but this run logs '" + header + "'");
  }
  out_.open(path_, std::ios::app);
  if (!out_) throw std::runtime_error("CsvLog " + path_ + ": cannot open for appending");
  if (existing.empty()) {
    out_ << header << '\n';
    out_.flush();
    if (!out_) throw std::runtime_error("CsvLog " + path_ + ": cannot write the header");
  }
}

void CsvLog::append(const std::vector<std::string>& cells) {
  if (cells.size() != columns_.size()) {
    throw std::invalid_argument("CsvLog " + path_ + ": row has " + std::to_string(cells.size()) +
                                " cells, the log has " + std::to_string(columns_.size()) +
                                " columns");
  }
  out_ << csv_line(cells) << '\n';
  out_.flush();
  if (!out_) throw std::runtime_error("CsvLog " + path_ + ": write failed");
}

}  // namespace lowbit::train
