#include "lowbit/train/report/results_table.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <utility>

namespace lowbit::train {
namespace {

// Width on screen in code points, so that UTF-8 cells such as "✓" or "λ" align.
size_t display_width(const std::string& text) {
  size_t width = 0;
  for (unsigned char c : text) width += (c & 0xC0) != 0x80;
  return width;
}

std::string escape_markdown(const std::string& cell) {
  std::string out;
  for (char c : cell) {
    if (c == '|') out += '\\';
    out += c;
  }
  return out;
}

bool is_number(const std::string& text) {
  if (text.empty()) return false;
  std::string body = text;
  if (body.back() == '%') body.pop_back();
  if (body.empty()) return false;
  char* end = nullptr;
  std::strtod(body.c_str(), &end);
  return end == body.c_str() + body.size();
}

std::string pad(const std::string& text, size_t width, bool right) {
  const std::string fill(width - std::min(width, display_width(text)), ' ');
  return right ? fill + text : text + fill;
}

}  // namespace

ResultsTable::ResultsTable(std::vector<std::string> headers) : headers_(std::move(headers)) {
  if (headers_.empty()) throw std::invalid_argument("ResultsTable: no columns");
}

void ResultsTable::add_row(std::vector<std::string> cells) {
  if (cells.size() != headers_.size()) {
    throw std::invalid_argument("ResultsTable: row has " + std::to_string(cells.size()) +
                                " cells, the table has " + std::to_string(headers_.size()) +
                                " columns");
  }
  rows_.push_back(std::move(cells));
}

bool ResultsTable::numeric_column(size_t column) const {
  bool any = false;
  for (const auto& row : rows_) {
    // Empty cells and the "-" of a missing value do not make a column of numbers text.
    if (row[column].empty() || row[column] == "-") continue;
    if (!is_number(row[column])) return false;
    any = true;
  }
  return any;
}

std::vector<size_t> ResultsTable::widths(bool markdown) const {
  std::vector<size_t> result;
  for (size_t c = 0; c < headers_.size(); ++c) {
    auto cell_width = [&](const std::string& cell) {
      return display_width(markdown ? escape_markdown(cell) : cell);
    };
    // A Markdown rule needs at least three dashes (four with the alignment colon).
    size_t width = std::max(cell_width(headers_[c]), markdown ? size_t{4} : size_t{0});
    for (const auto& row : rows_) width = std::max(width, cell_width(row[c]));
    result.push_back(width);
  }
  return result;
}

std::string ResultsTable::to_text() const {
  const auto width = widths(false);
  std::string out;
  auto line = [&](const std::vector<std::string>& cells, bool rule) {
    std::string text;
    for (size_t c = 0; c < cells.size(); ++c) {
      if (c > 0) text += "  ";
      text += pad(cells[c], width[c], !rule && numeric_column(c));
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    out += text + '\n';
  };
  line(headers_, false);
  std::vector<std::string> rule;
  for (size_t w : width) rule.push_back(std::string(w, '-'));
  line(rule, true);
  for (const auto& row : rows_) line(row, false);
  return out;
}

std::string ResultsTable::to_markdown() const {
  const auto width = widths(true);
  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    out += '|';
    for (size_t c = 0; c < cells.size(); ++c) {
      out += ' ' + pad(escape_markdown(cells[c]), width[c], numeric_column(c)) + " |";
    }
    out += '\n';
  };
  line(headers_);
  out += '|';
  for (size_t c = 0; c < headers_.size(); ++c) {
    out += ' ' +
           (numeric_column(c) ? std::string(width[c] - 1, '-') + ":" : std::string(width[c], '-')) +
           " |";
  }
  out += '\n';
  for (const auto& row : rows_) line(row);
  return out;
}

int64_t packed_bytes(int64_t parameters, int bits) {
  if (parameters < 0 || bits < 1) throw std::invalid_argument("packed_bytes: negative size");
  return (parameters * bits + 7) / 8;
}

ResultsTable bit_width_size_table(int64_t parameters) {
  ResultsTable table({"bits", "bytes", "MB", "reduction"});
  const int64_t fp32 = packed_bytes(parameters, 32);
  for (int bits : kSizeTableBits) {
    const int64_t bytes = packed_bytes(parameters, bits);
    // %.4g: the seed's "4.8 / 1.2 / 0.6 / 0.3 / 0.15 MB", and still readable for tiny models.
    char mb[32], reduction[32];
    std::snprintf(mb, sizeof(mb), "%.4g", static_cast<double>(bytes) / 1e6);
    std::snprintf(reduction, sizeof(reduction), "%.0fx",
                  bytes > 0 ? static_cast<double>(fp32) / static_cast<double>(bytes) : 1.0);
    table.add_row(
        {bits == 32 ? "32 (FP32)" : std::to_string(bits), std::to_string(bytes), mb, reduction});
  }
  return table;
}

}  // namespace lowbit::train
