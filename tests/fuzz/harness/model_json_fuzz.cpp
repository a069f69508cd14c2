// libFuzzer target: model.json as `lowbit verify` and `lowbit size` read it (cli/cmd_verify.cpp,
// cli/cmd_size.cpp): nlohmann::json::parse, then the `prefix` and `provenance` fields with the same
// accessors. Documented errors are nlohmann::json exceptions, which the CLI reports and exits 1.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const nlohmann::json info = nlohmann::json::parse(text);
    const std::string prefix = info.at("prefix").get<std::string>();
    const std::string stage = info.at("provenance").at("stage").get<std::string>();
    const std::string run = info.at("provenance").at("source_run").get<std::string>();
  } catch (const nlohmann::json::exception&) {
  } catch (const std::exception& e) {
    lowbit::fuzz::undocumented("model_json", e);
  }
  return 0;
}
