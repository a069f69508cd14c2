// `lowbit survey`: the table of errors of every weight quantizer on seeded samples.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "cli/run_lowbit.h"
#include "lowbit/quant/registry.h"

namespace lowbit::cli {
namespace {

using testing::run_lowbit;
using testing::TempDir;

const char* kHeader =
    "type,spec,bits,gaussian_rel_rms,gaussian_sqnr_db,gaussian_levels,laplace_rel_rms,"
    "laplace_sqnr_db,laplace_levels";

/// Splits one CSV line, honouring double-quoted fields.
std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (c == '"' && quoted && i + 1 < line.size() && line[i + 1] == '"') {
      fields.back() += '"';
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  return fields;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST(SurveyTest, CsvRowsAreConsistentAndLevelsFitTheBits) {
  TempDir dir;
  const auto r = run_lowbit("survey --samples 512 --seed 3 --csv '" + (dir / "s.csv") + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("survey: 512 samples per distribution, seed 3"), std::string::npos);
  const auto csv = lines(util::read_file(dir / "s.csv"));
  ASSERT_GE(csv.size(), 1u);
  EXPECT_EQ(csv[0], kHeader);
  int weight_types = 0;
  for (const auto& type : quant::quantizer_types()) {
    for (const auto role : type.roles) weight_types += role == quant::Role::kWeight;
  }
  if (weight_types == 0) {
    EXPECT_EQ(csv.size(), 1u);
    EXPECT_NE(r.out.find("no registered quantizer type can quantize weights"), std::string::npos);
    return;
  }
  EXPECT_GE(csv.size(), 1u + weight_types);
  for (size_t i = 1; i < csv.size(); ++i) {
    const auto f = split_csv(csv[i]);
    ASSERT_EQ(f.size(), 9u) << csv[i];
    const int bits = std::stoi(f[2]);
    EXPECT_GE(bits, 1) << csv[i];
    EXPECT_LE(bits, 8) << csv[i];
    EXPECT_NE(r.out.find(f[1]), std::string::npos) << "table lacks " << f[1];
    for (int d = 0; d < 2; ++d) {
      const double rel = std::stod(f[3 + 3 * d]);
      const int levels = std::stoi(f[5 + 3 * d]);
      EXPECT_GE(rel, 0.0) << csv[i];
      EXPECT_LE(levels, 1 << bits) << csv[i] << ": more distinct values than codes";
      EXPECT_GE(levels, 1) << csv[i];
      if (f[4 + 3 * d] != "inf" && rel > 0) {
        // Both columns come from the same two norms, so they agree up to their printed rounding.
        EXPECT_NEAR(std::stod(f[4 + 3 * d]), -20 * std::log10(rel),
                    0.01 + 20 * 0.00005 / rel / std::log(10))
            << csv[i];
      }
    }
  }
}

TEST(SurveyTest, SameSeedSameTable) {
  const auto a = run_lowbit("survey --samples 256 --seed 5");
  const auto b = run_lowbit("survey --samples 256 --seed 5");
  ASSERT_EQ(a.code, 0) << a.err;
  EXPECT_EQ(a.out, b.out);
  const auto header = lines(a.out);
  ASSERT_GE(header.size(), 2u);
  EXPECT_EQ(header[1].rfind("type ", 0), 0u) << header[1];
  EXPECT_NE(header[1].find(" spec "), std::string::npos) << header[1];
  EXPECT_NE(header[1].find(" laplace_levels"), std::string::npos) << header[1];
}

TEST(SurveyTest, CsvIntoMissingFolderIsAnErrorNamingIt) {
  TempDir dir;
  const auto r = run_lowbit("survey --samples 16 --csv '" + (dir / "no/dir/s.csv") + "'");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find(dir / "no/dir/s.csv"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace lowbit::cli
