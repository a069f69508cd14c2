// libFuzzer target: the .npz reader (lowbit::data::read_npz) on a file holding the input.
// Documented errors are util::FileError naming the file.
#include <cstdint>
#include <string>

#include "fuzz_input.h"
#include "lowbit/data/files/npz.h"
#include "lowbit/util/atomic_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static lowbit::fuzz::InputFile file("npz", ".npz");
  const std::string& path = file.write(data, size);
  try {
    lowbit::data::read_npz(path);
  } catch (const lowbit::util::FileError& e) {
    lowbit::fuzz::expect_named("npz", e, path);
  } catch (const std::exception& e) {
    lowbit::fuzz::undocumented("npz", e);
  }
  return 0;
}
