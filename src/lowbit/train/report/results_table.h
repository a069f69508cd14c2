// A table of text cells printed with aligned columns, as plain text for the terminal or as a
// Markdown table for docs/results.md. Columns whose cells are all numbers are right-aligned.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lowbit::train {

/// Rows of string cells under a header.
class ResultsTable {
 public:
  /// A table with these column headers.
  explicit ResultsTable(std::vector<std::string> headers);

  /// Adds a row; throws std::invalid_argument unless it has one cell per column.
  void add_row(std::vector<std::string> cells);

  /// The number of rows added.
  size_t rows() const { return rows_.size(); }

  /// Columns separated by two spaces, a dashed rule under the header, a newline after each line.
  std::string to_text() const;

  /// A GitHub-flavoured Markdown table (`|` in cells escaped), padded so the source lines up.
  std::string to_markdown() const;

 private:
  std::vector<size_t> widths(bool markdown) const;
  bool numeric_column(size_t column) const;

  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

/// Bytes of `parameters` values stored at `bits` bits each, rounded up to whole bytes.
int64_t packed_bytes(int64_t parameters, int bits);

/// The bit widths of the model-size table: FP32 and the widths QAT trains to.
inline constexpr int kSizeTableBits[] = {32, 8, 4, 2, 1};

/// Seed 003's model-size table: for each of kSizeTableBits, the bytes of `parameters` weights at
/// that width and the reduction against FP32 ("bits", "bytes", "MB", "reduction").
ResultsTable bit_width_size_table(int64_t parameters);

}  // namespace lowbit::train
