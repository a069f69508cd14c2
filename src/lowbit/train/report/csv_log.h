// The per-epoch metrics log (metrics.csv): a header once, then one row per epoch, flushed after
// every row so that a crashed or interrupted run keeps everything logged so far.
#pragma once

#include <fstream>
#include <string>
#include <vector>

namespace lowbit::train {

/// Quotes a CSV cell if it holds a comma, quote or line break (RFC 4180).
std::string csv_escape(const std::string& cell);

/// Formats a number for logs and tables with `significant` significant digits (%.*g).
std::string format_number(double value, int significant = 6);

/// Appends rows to a CSV file with fixed columns.
class CsvLog {
 public:
  /// Opens `path` for appending. A missing or empty file gets the header; an existing file must
  /// already start with exactly this header (so a resumed run continues the same table), else
  /// std::runtime_error names the path and both headers.
  CsvLog(std::string path, std::vector<std::string> columns);

  /// Writes one row (one cell per column, escaped) and flushes it; throws std::invalid_argument
  /// on a wrong cell count and std::runtime_error if the write fails.
  void append(const std::vector<std::string>& cells);

  /// The file's path.
  const std::string& path() const { return path_; }
  /// The column names.
  const std::vector<std::string>& columns() const { return columns_; }

 private:
  std::string path_;
  std::vector<std::string> columns_;
  std::ofstream out_;
};

}  // namespace lowbit::train
