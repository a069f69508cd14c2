// Where an export came from, recorded the same way by every backend (the C files' header
// comment, model.json, ONNX metadata).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace lowbit::exporter {

/// Where an exported model came from; written into the generated files' header comment and json.
struct Provenance {
  std::string source_run;   ///< Run folder or name the model was trained in.
  std::string stage;        ///< Training stage (e.g. "4bit").
  std::string config_hash;  ///< Hash of the run's configuration.
  std::string date;         ///< Export date (ISO 8601); left as given.
};

/// model.json's "provenance" object: source_run, stage, config_hash and date.
nlohmann::json provenance_json(const Provenance& provenance);

}  // namespace lowbit::exporter
