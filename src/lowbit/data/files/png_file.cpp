#include "lowbit/data/files/png_file.h"

#include <png.h>

#include <csetjmp>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "lowbit/data/files/input_file.h"
#include "lowbit/util/atomic_file.h"

namespace lowbit::data {
namespace {

// Densest expansion of deflate: bounds the pixels a file of a given size can really hold.
constexpr uint64_t kMaxInflate = 1032;

// State shared with libpng's callbacks. Everything owning memory lives here, outside the
// function that calls setjmp, so a longjmp out of libpng skips no destructor.
struct PngRead {
  const std::string* bytes = nullptr;
  size_t offset = 0;
  char error[200] = {};
  uint32_t width = 0, height = 0;
  int bit_depth = 0, color_type = 0, interlace = 0;
  std::vector<uint16_t>* pixels = nullptr;
  std::vector<png_bytep>* rows = nullptr;
  bool too_large = false;
};

void on_error(png_structp png, png_const_charp message) {
  auto* state = static_cast<PngRead*>(png_get_error_ptr(png));
  std::strncpy(state->error, message, sizeof(state->error) - 1);
  png_longjmp(png, 1);
}

void on_warning(png_structp, png_const_charp) {}

void on_read(png_structp png, png_bytep out, png_size_t length) {
  auto* state = static_cast<PngRead*>(png_get_io_ptr(png));
  if (state->bytes->size() - state->offset < length) {
    png_error(png, "the file ends before the image data does (truncated)");
  }
  std::memcpy(out, state->bytes->data() + state->offset, length);
  state->offset += length;
}

// Decodes into state->pixels; returns false with state->error set on failure. Only plain
// pointers and integers live in this frame (setjmp).
bool decode(PngRead* state) {
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, state, on_error, on_warning);
  if (png == nullptr) return false;
  png_infop info = png_create_info_struct(png);
  if (info == nullptr || setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, info != nullptr ? &info : nullptr, nullptr);
    return false;
  }
  png_set_read_fn(png, state, on_read);
  png_read_info(png, info);
  state->width = png_get_image_width(png, info);
  state->height = png_get_image_height(png, info);
  state->bit_depth = png_get_bit_depth(png, info);
  state->color_type = png_get_color_type(png, info);
  state->interlace = png_get_interlace_type(png, info);
  const uint64_t bytes = uint64_t{state->width} * state->height * 6;
  if (state->bit_depth != 16 || state->color_type != PNG_COLOR_TYPE_RGB ||
      bytes > kMaxInflate * state->bytes->size() + 4096) {
    state->too_large = bytes > kMaxInflate * state->bytes->size() + 4096;
    png_destroy_read_struct(&png, &info, nullptr);
    return true;  // the caller reports the header
  }
  png_set_swap(png);  // PNG stores 16-bit samples big-endian
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  state->pixels->resize(static_cast<size_t>(state->width) * state->height * 3);
  state->rows->resize(state->height);
  for (uint32_t r = 0; r < state->height; ++r) {
    (*state->rows)[r] = reinterpret_cast<png_bytep>(state->pixels->data() +
                                                    static_cast<size_t>(r) * state->width * 3);
  }
  png_read_image(png, state->rows->data());
  png_read_end(png, nullptr);
  png_destroy_read_struct(&png, &info, nullptr);
  return true;
}

// State of one encoding, outside the setjmp frame for the same reason as PngRead.
struct PngWrite {
  std::string* bytes = nullptr;
  const uint8_t* pixels = nullptr;
  uint32_t width = 0, height = 0;
  std::vector<png_bytep>* rows = nullptr;
  char error[200] = {};
};

void on_write(png_structp png, png_bytep data, png_size_t length) {
  auto* state = static_cast<PngWrite*>(png_get_io_ptr(png));
  state->bytes->append(reinterpret_cast<const char*>(data), length);
}

void on_flush(png_structp) {}

bool encode(PngWrite* state) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, state, on_error, on_warning);
  if (png == nullptr) return false;
  png_infop info = png_create_info_struct(png);
  if (info == nullptr || setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, info != nullptr ? &info : nullptr);
    return false;
  }
  png_set_write_fn(png, state, on_write, on_flush);
  png_set_IHDR(png, info, state->width, state->height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  state->rows->resize(state->height);
  for (uint32_t r = 0; r < state->height; ++r) {
    // libpng's row pointers are not const, but writing only reads them.
    (*state->rows)[r] =
        const_cast<png_bytep>(state->pixels + static_cast<size_t>(r) * state->width * 3);
  }
  png_set_rows(png, info, state->rows->data());
  png_write_png(png, info, PNG_TRANSFORM_IDENTITY, nullptr);
  png_destroy_write_struct(&png, &info);
  return true;
}

}  // namespace

std::string encode_png_rgb8(const torch::Tensor& rgb) {
  if (!rgb.defined() || rgb.dim() != 3 || rgb.size(2) != 3 || rgb.size(0) < 1 || rgb.size(1) < 1 ||
      rgb.scalar_type() != torch::kUInt8 || rgb.size(0) > (1 << 24) || rgb.size(1) > (1 << 24)) {
    throw std::invalid_argument("PNG image: expected uint8 pixels [H, W, 3] with 1 <= H, W <= " +
                                std::to_string(1 << 24));
  }
  const torch::Tensor pixels = rgb.contiguous();
  std::string bytes;
  std::vector<png_bytep> rows;
  PngWrite state;
  state.bytes = &bytes;
  state.pixels = pixels.data_ptr<uint8_t>();
  state.width = static_cast<uint32_t>(rgb.size(1));
  state.height = static_cast<uint32_t>(rgb.size(0));
  state.rows = &rows;
  if (!encode(&state)) {
    throw std::runtime_error("PNG image: libpng failed (" + std::string(state.error) + ")");
  }
  return bytes;
}

void write_png_rgb8(const std::string& path, const torch::Tensor& rgb) {
  const std::string bytes = encode_png_rgb8(rgb);
  util::write_file_atomically(path, [&](std::ostream& out) { out << bytes; });
}

torch::Tensor read_png_rgb16(const std::string& path) {
  const std::string bytes = read_input_file(path, "a 16-bit RGB PNG file");
  if (bytes.size() < 8 || png_sig_cmp(reinterpret_cast<png_const_bytep>(bytes.data()), 0, 8) != 0) {
    throw util::FileError(path + ": not a PNG file (bad signature: '" + echo(bytes.substr(0, 8)) +
                          "')");
  }
  std::vector<uint16_t> pixels;
  std::vector<png_bytep> rows;
  PngRead state;
  state.bytes = &bytes;
  state.pixels = &pixels;
  state.rows = &rows;
  if (!decode(&state)) {
    throw util::FileError(path + ": unreadable PNG (" + std::string(state.error) + ")");
  }
  const std::string header = std::to_string(state.width) + " x " + std::to_string(state.height) +
                             ", " + std::to_string(state.bit_depth) + "-bit, colour type " +
                             std::to_string(state.color_type);
  if (state.too_large) {
    throw util::FileError(path + ": header declares " + header + " but the file holds only " +
                          std::to_string(bytes.size()) + " bytes");
  }
  if (state.bit_depth != 16 || state.color_type != PNG_COLOR_TYPE_RGB) {
    throw util::FileError(path + ": " + header + " (expected 16-bit RGB, colour type 2)");
  }
  // LibTorch 1.13 has no uint16 dtype: widen to int32.
  torch::Tensor out = torch::empty(
      {static_cast<int64_t>(state.height), static_cast<int64_t>(state.width), 3}, torch::kInt32);
  int32_t* dst = out.data_ptr<int32_t>();
  for (size_t i = 0; i < pixels.size(); ++i) dst[i] = pixels[i];
  return out;
}

}  // namespace lowbit::data
