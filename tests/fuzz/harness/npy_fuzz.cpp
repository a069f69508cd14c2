// libFuzzer target: the .npy reader (lowbit::data::read_npy_bytes). Documented errors are
// util::FileError naming the input; an array it accepts must survive writing and reading back.
#include <cstdint>
#include <string>

#include "fuzz_input.h"
#include "lowbit/data/files/npy.h"
#include "lowbit/util/atomic_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string name = "fuzz.npy";
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  torch::Tensor t;
  try {
    t = lowbit::data::read_npy_bytes(bytes, name);
  } catch (const lowbit::util::FileError& e) {
    lowbit::fuzz::expect_named("npy", e, name);
    return 0;
  } catch (const std::exception& e) {
    lowbit::fuzz::undocumented("npy", e);
  }
  try {
    // Compared as bytes: NaN payloads are data too, and NaN != NaN for torch::equal.
    const std::string written = lowbit::data::npy_bytes(t, name);
    const torch::Tensor again = lowbit::data::read_npy_bytes(written, name);
    if (lowbit::data::npy_bytes(again, name) != written) {
      std::fprintf(stderr, "npy: the array read back differs from the one written\n");
      std::abort();
    }
  } catch (const std::exception& e) {
    lowbit::fuzz::undocumented("npy round trip", e);
  }
  return 0;
}
