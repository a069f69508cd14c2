// libFuzzer target: checkpoint loading (train::load_checkpoint) on a file holding the input.
// Documented errors are train::CheckpointError naming the file.
#include <cstdint>
#include <string>

#include "fuzz_input.h"
#include "lowbit/train/checkpoint/checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static lowbit::fuzz::InputFile file("checkpoint", ".pt");
  const std::string& path = file.write(data, size);
  try {
    lowbit::train::load_checkpoint(path);
  } catch (const lowbit::train::CheckpointError& e) {
    lowbit::fuzz::expect_named("checkpoint", e, path);
  } catch (const std::exception& e) {
    lowbit::fuzz::undocumented("checkpoint", e);
  }
  return 0;
}
