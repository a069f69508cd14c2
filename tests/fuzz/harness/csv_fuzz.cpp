// libFuzzer target: the CSV reader. The first input byte picks the options (integer or float
// labels, delimiter), the rest is the file. Documented errors are util::FileError naming the file;
// whatever it accepts must pass Dataset::check().
#include <cstdint>
#include <string>

#include "fuzz_input.h"
#include "lowbit/data/files/csv.h"
#include "lowbit/util/atomic_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static lowbit::fuzz::InputFile file("csv", ".csv");
  const std::string& path = file.write(data + 1, size - 1);
  lowbit::data::CsvOptions options;
  options.label_column = "label";
  options.integer_labels = (data[0] & 1) == 0;
  options.delimiter = (data[0] & 2) == 0 ? ',' : ';';
  if ((data[0] & 4) != 0) options.feature_columns = {"b", "a"};
  try {
    const lowbit::data::Dataset d = lowbit::data::read_csv(path, options);
    d.check();
  } catch (const lowbit::util::FileError& e) {
    lowbit::fuzz::expect_named("csv", e, path);
  } catch (const std::exception& e) {
    lowbit::fuzz::undocumented("csv", e);
  }
  return 0;
}
