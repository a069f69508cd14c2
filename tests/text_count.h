// Counting a substring in generated text (C sources, JSON, SVG), shared by the test suites.
#pragma once

#include <cstddef>
#include <string>

namespace lowbit::testing {

/// How often `what` occurs in `text`, overlapping occurrences included.
inline size_t count_in(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace lowbit::testing
