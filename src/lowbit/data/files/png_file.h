// Reading 16-bit RGB PNG files (DSEC's optical-flow ground truth) and writing 8-bit RGB images
// (flow visualisations) through libpng.
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

/// The bytes of an 8-bit RGB PNG file holding `rgb` uint8 [H, W, 3] (H, W >= 1). Throws
/// std::invalid_argument naming the expected shape and type.
std::string encode_png_rgb8(const torch::Tensor& rgb);

/// Writes encode_png_rgb8(rgb) to `path` atomically (util::write_file_atomically): a failed
/// write leaves an existing file as it was and throws util::FileError naming the path.
void write_png_rgb8(const std::string& path, const torch::Tensor& rgb);

}  // namespace lowbit::data
