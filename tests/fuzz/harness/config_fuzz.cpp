// libFuzzer target: YAML run configs, through config::ConfigNode::parse and
// train::parse_run_config. Documented errors are config::ConfigError naming the file.
#include <cstdint>
#include <string>

#include "fuzz_input.h"
#include "lowbit/config/config_reader.h"
#include "lowbit/train/run_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string name = "fuzz.yaml";
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const lowbit::config::ConfigNode root = lowbit::config::ConfigNode::parse(text, name);
    lowbit::train::parse_run_config(root);
  } catch (const lowbit::config::ConfigError& e) {
    lowbit::fuzz::expect_named("config", e, name);
  } catch (const std::exception& e) {
    lowbit::fuzz::undocumented("config", e);
  }
  return 0;
}
