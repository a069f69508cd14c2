#include "lowbit/util/shape_text.h"

namespace lowbit::util {

std::string shape_text(c10::ArrayRef<int64_t> sizes) {
  std::string text = "[";
  for (size_t d = 0; d < sizes.size(); ++d) {
    text += (d ? ", " : "") + std::to_string(sizes[d]);
  }
  return text + "]";
}

}  // namespace lowbit::util
