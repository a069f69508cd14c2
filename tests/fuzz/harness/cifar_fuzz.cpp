// libFuzzer target: the CIFAR-10 binary batch reader (plain or gzipped) on a file holding the
// input. Documented errors are util::FileError naming the file.
#include <cstdint>
#include <string>

#include "fuzz_input.h"
#include "lowbit/data/files/cifar.h"
#include "lowbit/util/atomic_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static lowbit::fuzz::InputFile file("cifar", ".bin");
  const std::string& path = file.write(data, size);
  try {
    const lowbit::data::Dataset d = lowbit::data::read_cifar10_batch(path);
    d.check();
  } catch (const lowbit::util::FileError& e) {
    lowbit::fuzz::expect_named("cifar", e, path);
  } catch (const std::exception& e) {
    lowbit::fuzz::undocumented("cifar", e);
  }
  return 0;
}
