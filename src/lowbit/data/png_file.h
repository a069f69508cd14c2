// Reading 16-bit RGB PNG files (DSEC's optical-flow ground truth) through libpng.
#pragma once

#include <torch/types.h>

#include <string>

namespace lowbit::data {

/// The pixels of the 16-bit RGB PNG file `path` as int32 [H, W, 3] (values 0..65535). Throws
/// util::FileError naming the file for a missing or truncated file, a file that is not a PNG,
/// another bit depth or colour type, or a header declaring more pixels than the file's size can
/// hold (at most 1032 bytes of pixels per byte of file: deflate's densest expansion), checked
/// before any pixel memory is allocated.
torch::Tensor read_png_rgb16(const std::string& path);

}  // namespace lowbit::data
