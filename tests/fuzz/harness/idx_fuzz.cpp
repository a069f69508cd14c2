// libFuzzer target: the IDX readers (images and labels, plain or gzipped: zlib tells them apart)
// on a file holding the input. Documented errors are util::FileError naming the file.
#include <cstdint>
#include <string>

#include "fuzz_input.h"
#include "lowbit/data/files/idx.h"
#include "lowbit/util/atomic_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static lowbit::fuzz::InputFile file("idx", ".gz");
  const std::string& path = file.write(data, size);
  for (const bool images : {true, false}) {
    try {
      if (images) {
        lowbit::data::read_idx_images(path);
      } else {
        lowbit::data::read_idx_labels(path);
      }
    } catch (const lowbit::util::FileError& e) {
      lowbit::fuzz::expect_named("idx", e, path);
    } catch (const std::exception& e) {
      lowbit::fuzz::undocumented("idx", e);
    }
  }
  return 0;
}
