// `lowbit survey`: how closely every weight grid follows Gaussian and Laplace samples.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <limits>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "lowbit/cli/commands.h"
#include "lowbit/cli/one_shot.h"
#include "lowbit/quant/registry.h"
#include "lowbit/util/atomic_file.h"

namespace lowbit::cli {
namespace {

/// What the command line asked for.
struct SurveyOptions {
  int64_t samples = 4096;
  uint64_t seed = 0;
  std::string csv;
};

/// One named sample set.
struct Distribution {
  std::string name;
  torch::Tensor x;
};

/// How one quantizer did on one distribution.
struct Measure {
  double rel_rms = 0;
  double sqnr_db = 0;
  int64_t levels = 0;
};

std::vector<Distribution> make_samples(const SurveyOptions& o) {
  torch::manual_seed(o.seed);
  const torch::Tensor gauss = torch::randn({o.samples});
  // The difference of two independent Exp(1) variables is Laplace(0, 1).
  const torch::Tensor laplace =
      torch::empty({o.samples}).exponential_(1.0) - torch::empty({o.samples}).exponential_(1.0);
  return {{"gaussian", gauss}, {"laplace", laplace}};
}

Measure measure(quant::QuantizerImpl& q, const torch::Tensor& x) {
  const torch::Tensor y = quantize_once(q, x);
  const double signal = x.to(torch::kFloat64).norm().item<double>();
  const double noise = (y.to(torch::kFloat64) - x.to(torch::kFloat64)).norm().item<double>();
  Measure m;
  m.rel_rms = noise / signal;
  m.sqnr_db =
      noise == 0 ? std::numeric_limits<double>::infinity() : 20 * std::log10(signal / noise);
  const torch::Tensor sorted = std::get<0>(y.flatten().sort());
  m.levels = 1 + (sorted.slice(0, 1) != sorted.slice(0, 0, -1)).sum().item<int64_t>();
  return m;
}

bool has_param(const quant::QuantizerType& type, const std::string& key) {
  return std::any_of(type.params.begin(), type.params.end(),
                     [&](const quant::ParamInfo& p) { return p.name == key; });
}

// Every spec to survey: bits 1..8 for types with a `bits` key (widths their spec rejects are
// left out), the type alone otherwise; per tensor, so the types compare on equal terms.
std::vector<quant::QuantSpec> survey_specs(const quant::QuantizerType& type) {
  std::vector<quant::QuantSpec> specs;
  const bool bits = has_param(type, "bits");
  for (int b = 1; b <= (bits ? 8 : 1); ++b) {
    quant::QuantSpec spec(type.name);
    if (bits) spec.set("bits", std::to_string(b));
    if (has_param(type, "per_channel")) spec.set("per_channel", "0");
    try {
      quant::make_quantizer(spec, quant::Role::kWeight);
    } catch (const quant::SpecError&) {
      continue;
    }
    specs.push_back(spec);
  }
  return specs;
}

std::string fixed(double v, int decimals) {
  if (std::isinf(v)) return "inf";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
  return buf;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"") == std::string::npos) return s;
  std::string q = "\"";
  for (const char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

void run_survey(const SurveyOptions& o) {
  const std::vector<Distribution> dists = make_samples(o);
  std::vector<std::string> header = {"type", "spec", "bits"};
  for (const auto& d : dists) {
    header.push_back(d.name + "_rel_rms");
    header.push_back(d.name + "_sqnr_db");
    header.push_back(d.name + "_levels");
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& type : quant::quantizer_types()) {
    if (std::find(type.roles.begin(), type.roles.end(), quant::Role::kWeight) == type.roles.end()) {
      continue;
    }
    for (const auto& spec : survey_specs(type)) {
      std::vector<std::string> row = {type.name, spec.str(), ""};
      for (const auto& d : dists) {
        // A fresh quantizer per distribution, so no observer state carries over.
        const quant::Quantizer q = quant::make_quantizer(spec, quant::Role::kWeight);
        row[2] = std::to_string(q->bits());
        const Measure m = measure(*q, d.x);
        row.push_back(fixed(m.rel_rms, 4));
        row.push_back(fixed(m.sqnr_db, 2));
        row.push_back(std::to_string(m.levels));
      }
      rows.push_back(row);
    }
  }

  std::cout << "survey: " << o.samples << " samples per distribution, seed " << o.seed
            << "; rel_rms = ||q - x|| / ||x||, sqnr_db = 20 log10(||x|| / ||q - x||), levels = "
               "distinct values in q\n";
  std::vector<size_t> width(header.size());
  for (size_t c = 0; c < header.size(); ++c) {
    width[c] = header[c].size();
    for (const auto& r : rows) width[c] = std::max(width[c], r[c].size());
  }
  auto print_row = [&](const std::vector<std::string>& r) {
    std::string line;
    for (size_t c = 0; c < r.size(); ++c) {
      const std::string pad(width[c] - r[c].size(), ' ');
      // Names to the left, numbers to the right.
      line += (c ? "  " : "") + (c < 2 ? r[c] + pad : pad + r[c]);
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    std::cout << line << "\n";
  };
  print_row(header);
  for (const auto& r : rows) print_row(r);
  if (rows.empty()) std::cout << "(no registered quantizer type can quantize weights)\n";

  if (!o.csv.empty()) {
    std::ostringstream csv;
    auto csv_row = [&csv](const std::vector<std::string>& r) {
      for (size_t c = 0; c < r.size(); ++c) csv << (c ? "," : "") << csv_field(r[c]);
      csv << "\n";
    };
    csv_row(header);
    for (const auto& r : rows) csv_row(r);
    util::write_text_atomically(o.csv, csv.str());
    std::cout << "wrote " << o.csv << "\n";
  }
}

}  // namespace

void add_survey_command(CLI::App& app) {
  auto o = std::make_shared<SurveyOptions>();
  CLI::App* cmd = app.add_subcommand(
      "survey",
      "For every weight quantizer and bits 1..8: relative RMS error, SQNR and levels used on "
      "seeded Gaussian and Laplace samples");
  cmd->add_option("--samples", o->samples, "Samples per distribution")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 26))
      ->capture_default_str();
  cmd->add_option("--seed", o->seed, "Seed of the sample generator")->capture_default_str();
  cmd->add_option("--csv", o->csv, "Also write the table to this CSV file");
  cmd->callback([o] { run_survey(*o); });
}

}  // namespace lowbit::cli
