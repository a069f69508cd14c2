// Tensor shapes as text for error messages.
#pragma once

#include <c10/util/ArrayRef.h>

#include <cstdint>
#include <string>

namespace lowbit::util {

/// "[N, C, H, W]": the sizes of a shape (pass `tensor.sizes()`), as error messages show them.
std::string shape_text(c10::ArrayRef<int64_t> sizes);

}  // namespace lowbit::util
