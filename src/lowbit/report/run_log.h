// What a run directory logs as text: metrics.csv (one row per epoch of every stage) and
// results.json (one result per stage), read back for the report.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace lowbit::report {

/// A CSV table of text cells under a header row.
struct CsvTable {
  std::vector<std::string> columns;            ///< Header cells.
  std::vector<std::vector<std::string>> rows;  ///< One entry per line, one cell per column.
};

/// Reads a CSV file as written by train::CsvLog (RFC 4180 quoting). Throws util::FileError naming
/// the file and line when it cannot be read, has no header or a row has the wrong cell count.
CsvTable read_csv_table(const std::string& path);

/// The epochs one stage logged: each numeric column's values in row order (NaN for an empty or
/// non-numeric cell), the stage column left out.
struct StageCurves {
  std::string stage;                                   ///< Stage name.
  std::vector<double> epochs;                          ///< The `epoch` column.
  std::map<std::string, std::vector<double>> columns;  ///< Every other column by name.
};

/// Splits a metrics.csv table by its `stage` column, stages in order of first appearance. Throws
/// std::runtime_error naming `what` when the `stage` or `epoch` column is missing.
std::vector<StageCurves> stage_curves(const CsvTable& table, const std::string& what);

/// One stage of results.json.
struct StageSummary {
  std::string stage;          ///< Stage name.
  std::string bits;           ///< Bit widths, e.g. "w4 a8" or "fp".
  double accuracy = 0.0;      ///< Test accuracy (NaN when undefined).
  double auc = 0.0;           ///< Test ROC AUC (NaN when undefined).
  double loss = 0.0;          ///< Test loss.
  double aee = 0.0;           ///< Test average endpoint error of flow stages (NaN otherwise).
  double flash_bytes = 0.0;   ///< Flash bytes of the integer model, or FP32 bytes (NaN: none).
  std::string flash_form;     ///< "int" or "fp32".
  double macs = 0.0;          ///< MACs per inference (NaN: unknown).
  double weight_bytes = 0.0;  ///< Storage of the parameters at their bit widths.
  double mean_bits = 0.0;     ///< Weight bits per parameter: 8 * weight_bytes / parameters.
  std::string export_error;   ///< Why the stage has no integer model ("" when it has one).
};

/// Reads results.json; throws util::FileError naming the file when it is missing or malformed.
std::vector<StageSummary> read_results(const std::string& path);

}  // namespace lowbit::report
