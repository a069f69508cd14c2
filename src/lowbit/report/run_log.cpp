#include "lowbit/report/run_log.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <stdexcept>

#include "lowbit/util/atomic_file.h"

namespace lowbit::report {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Splits CSV text into rows of cells; quoted cells may hold commas, quotes ("") and line breaks.
std::vector<std::vector<std::string>> parse_csv(const std::string& text, const std::string& path,
                                                std::vector<size_t>& lines) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string cell;
  bool quoted = false, any = false;
  size_t line = 1, row_line = 1;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        cell += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        if (c == '\n') ++line;
        cell += c;
      }
      continue;
    }
    if (c == '"' && cell.empty()) {
      quoted = any = true;
    } else if (c == ',') {
      row.push_back(cell);
      cell.clear();
      any = true;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      if (any || !cell.empty()) {
        row.push_back(cell);
        rows.push_back(row);
        lines.push_back(row_line);
      }
      row.clear();
      cell.clear();
      any = false;
      row_line = ++line;
    } else {
      cell += c;
      any = true;
    }
  }
  if (quoted) throw util::FileError(path + ":" + std::to_string(row_line) + ": unterminated quote");
  if (any || !cell.empty()) {
    row.push_back(cell);
    rows.push_back(row);
    lines.push_back(row_line);
  }
  return rows;
}

double number_or_nan(const std::string& cell) {
  if (cell.empty()) return kNaN;
  char* end = nullptr;
  const double v = std::strtod(cell.c_str(), &end);
  return end != nullptr && *end == '\0' ? v : kNaN;
}

double json_number(const nlohmann::json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : kNaN;
}

std::string json_text(const nlohmann::json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

CsvTable read_csv_table(const std::string& path) {
  std::vector<size_t> lines;
  auto rows = parse_csv(util::read_file(path), path, lines);
  if (rows.empty()) throw util::FileError(path + ": empty, expected a header line");
  CsvTable table;
  table.columns = rows.front();
  for (size_t i = 1; i < rows.size(); ++i) {
    if (rows[i].size() != table.columns.size()) {
      throw util::FileError(path + ":" + std::to_string(lines[i]) + ": " +
                            std::to_string(rows[i].size()) + " cells, expected " +
                            std::to_string(table.columns.size()) + " (the header's)");
    }
    table.rows.push_back(std::move(rows[i]));
  }
  return table;
}

std::vector<StageCurves> stage_curves(const CsvTable& table, const std::string& what) {
  auto column = [&](const std::string& name) {
    for (size_t i = 0; i < table.columns.size(); ++i) {
      if (table.columns[i] == name) return i;
    }
    throw std::runtime_error(what + ": no '" + name + "' column");
  };
  const size_t stage_col = column("stage");
  const size_t epoch_col = column("epoch");
  std::vector<StageCurves> stages;
  for (const auto& row : table.rows) {
    StageCurves* s = nullptr;
    for (auto& existing : stages) {
      if (existing.stage == row[stage_col]) s = &existing;
    }
    if (s == nullptr) {
      stages.push_back(StageCurves{row[stage_col], {}, {}});
      s = &stages.back();
    }
    s->epochs.push_back(number_or_nan(row[epoch_col]));
    for (size_t i = 0; i < row.size(); ++i) {
      if (i == stage_col || i == epoch_col) continue;
      s->columns[table.columns[i]].push_back(number_or_nan(row[i]));
    }
  }
  return stages;
}

std::vector<StageSummary> read_results(const std::string& path) {
  nlohmann::json root;
  try {
    root = nlohmann::json::parse(util::read_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw util::FileError(path + ": not valid JSON: " + e.what());
  }
  if (!root.is_object() || !root.contains("stages") || !root["stages"].is_array()) {
    throw util::FileError(path + ": expected an object with a 'stages' array");
  }
  std::vector<StageSummary> stages;
  for (const auto& j : root["stages"]) {
    StageSummary s;
    s.stage = json_text(j, "stage");
    s.bits = json_text(j, "bits");
    s.accuracy = json_number(j, "accuracy");
    s.auc = json_number(j, "auc");
    s.loss = json_number(j, "loss");
    s.aee = json_number(j, "aee");
    s.flash_bytes = json_number(j, "flash_bytes");
    s.flash_form = json_text(j, "flash_form");
    s.macs = json_number(j, "macs");
    s.weight_bytes = json_number(j, "weight_bytes");
    const double parameters = json_number(j, "parameters");
    s.mean_bits = parameters > 0 ? 8.0 * s.weight_bytes / parameters : kNaN;
    s.export_error = json_text(j, "export_error");
    stages.push_back(s);
  }
  return stages;
}

}  // namespace lowbit::report
