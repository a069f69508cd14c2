// CSV tables: a header row of column names, then one sample per line, all cells numbers.
#pragma once

#include <string>
#include <vector>

#include "lowbit/data/dataset.h"

namespace lowbit::data {

/// Which columns of a CSV table become features and which the label.
struct CsvOptions {
  std::string label_column;  ///< Name of the label column (required).
  std::vector<std::string>
      feature_columns;         ///< Feature columns in this order; empty = all but the label.
  char delimiter = ',';        ///< Cell separator.
  bool integer_labels = true;  ///< int64 class ids (true) or float32 targets (false).
};

/// Reads a CSV table into inputs float32 [N, F] and targets (int64 class ids with num_classes =
/// max + 1, or float32). Cells are parsed strictly: surrounding spaces are allowed, anything else
/// that is not a whole finite number (or, for integer labels, a non-negative integer) throws
/// util::FileError naming the file, line and column. Quoted cells are not supported; blank lines
/// are skipped; CRLF line ends are accepted.
Dataset read_csv(const std::string& path, const CsvOptions& options);

}  // namespace lowbit::data
