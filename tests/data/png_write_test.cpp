// The 8-bit RGB PNG writer (flow images), read back with libpng's own simplified reader.
#include <gtest/gtest.h>
#include <png.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "data/test_files.h"
#include "lowbit/data/files/png_file.h"
#include "lowbit/util/atomic_file.h"

namespace lowbit::data {
namespace {

std::vector<uint8_t> decode_rgb8(const std::string& bytes, uint32_t* width, uint32_t* height) {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&image, bytes.data(), bytes.size())) {
    throw std::runtime_error(image.message);
  }
  image.format = PNG_FORMAT_RGB;
  std::vector<uint8_t> pixels(PNG_IMAGE_SIZE(image));
  if (!png_image_finish_read(&image, nullptr, pixels.data(), 0, nullptr)) {
    throw std::runtime_error(image.message);
  }
  *width = image.width;
  *height = image.height;
  return pixels;
}

TEST(PngWrite, RoundTrip) {
  const torch::Tensor rgb =
      torch::arange(0, 5 * 3 * 3).remainder(256).to(torch::kUInt8).reshape({5, 3, 3});
  uint32_t w = 0, h = 0;
  const std::vector<uint8_t> pixels = decode_rgb8(encode_png_rgb8(rgb), &w, &h);
  EXPECT_EQ(w, 3u);
  EXPECT_EQ(h, 5u);
  ASSERT_EQ(pixels.size(), 45u);
  for (size_t i = 0; i < pixels.size(); ++i) EXPECT_EQ(pixels[i], i % 256) << i;
  // A non-contiguous view is written as its values.
  const torch::Tensor view = rgb.transpose(0, 1);
  const std::vector<uint8_t> t = decode_rgb8(encode_png_rgb8(view), &w, &h);
  EXPECT_EQ(w, 5u);
  EXPECT_EQ(t[3], rgb[1][0][0].item<uint8_t>());
}

TEST(PngWrite, BadImagesAreRefused) {
  EXPECT_THROW(encode_png_rgb8(torch::zeros({2, 2, 3})), std::invalid_argument);  // float
  EXPECT_THROW(encode_png_rgb8(torch::zeros({2, 2, 4}, torch::kUInt8)), std::invalid_argument);
  EXPECT_THROW(encode_png_rgb8(torch::zeros({0, 2, 3}, torch::kUInt8)), std::invalid_argument);
}

TEST(PngWrite, FileWrittenAtomically) {
  testing::TempDir dir("png_write");
  const std::string path = dir.file("a.png");
  write_png_rgb8(path, torch::full({2, 2, 3}, 7, torch::kUInt8));
  uint32_t w = 0, h = 0;
  EXPECT_EQ(decode_rgb8(util::read_file(path), &w, &h)[0], 7);
  EXPECT_THROW(write_png_rgb8(dir.file("missing/b.png"), torch::zeros({1, 1, 3}, torch::kUInt8)),
               util::FileError);
}

}  // namespace
}  // namespace lowbit::data
