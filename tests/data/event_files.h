// Writers for event-data tests: HDF5 files through the HDF5 C API and 16-bit PNGs through libpng,
// so the readers are tested on files made by the reference libraries, not by lowbit.
#pragma once

#include <hdf5.h>
#include <png.h>

#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

namespace lowbit::data::testing {

/// A new HDF5 file; datasets are written with write(), groups on their paths made as needed.
class H5Writer {
 public:
  /// Creates (or truncates) `path`.
  explicit H5Writer(const std::string& path) {
    file_ = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (file_ < 0) throw std::runtime_error("H5Fcreate " + path);
  }
  /// Closes the file.
  ~H5Writer() { close(); }
  /// Not copyable.
  H5Writer(const H5Writer&) = delete;
  /// Not copyable.
  H5Writer& operator=(const H5Writer&) = delete;

  /// Writes `values` as dataset `name` of shape `dims` ({} for a scalar) stored as `file_type`.
  template <class T>
  void write(const std::string& name, const std::vector<hsize_t>& dims, hid_t file_type,
             const std::vector<T>& values) {
    const hid_t space = dims.empty()
                            ? H5Screate(H5S_SCALAR)
                            : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
    const hid_t links = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(links, 1);
    const hid_t dset =
        H5Dcreate2(file_, name.c_str(), file_type, space, links, H5P_DEFAULT, H5P_DEFAULT);
    if (dset < 0) throw std::runtime_error("H5Dcreate2 " + name);
    if (!values.empty() &&
        H5Dwrite(dset, memory_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) < 0) {
      throw std::runtime_error("H5Dwrite " + name);
    }
    H5Dclose(dset);
    H5Pclose(links);
    H5Sclose(space);
  }

  /// A chunked dataset `name` of shape `dims` that is never written: it declares its size but
  /// stores nothing (a file of a few KiB declaring gigabytes).
  void declare_only(const std::string& name, const std::vector<hsize_t>& dims, hid_t file_type) {
    const hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
    const hid_t create = H5Pcreate(H5P_DATASET_CREATE);
    std::vector<hsize_t> chunk(dims.size(), 1);
    chunk[0] = 1024;
    H5Pset_chunk(create, static_cast<int>(chunk.size()), chunk.data());
    const hid_t links = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(links, 1);
    const hid_t dset =
        H5Dcreate2(file_, name.c_str(), file_type, space, links, create, H5P_DEFAULT);
    if (dset < 0) throw std::runtime_error("H5Dcreate2 " + name);
    H5Dclose(dset);
    H5Pclose(links);
    H5Pclose(create);
    H5Sclose(space);
  }

  /// Closes the file now (idempotent).
  void close() {
    if (file_ >= 0) H5Fclose(file_);
    file_ = -1;
  }

 private:
  template <class T>
  static hid_t memory_type() {
    if constexpr (std::is_same_v<T, double>) return H5T_NATIVE_DOUBLE;
    if constexpr (std::is_same_v<T, float>) return H5T_NATIVE_FLOAT;
    if constexpr (std::is_same_v<T, int32_t>) return H5T_NATIVE_INT32;
    if constexpr (std::is_same_v<T, int64_t>) return H5T_NATIVE_INT64;
    throw std::runtime_error("H5Writer: unsupported element type");
  }
  hid_t file_ = -1;
};

/// Writes a PNG of `width` x `height` with `channels` (3 = RGB, 4 = RGBA) samples of `bits` (8 or
/// 16) per pixel from `samples` (row-major, values in range for the bit depth).
inline void write_png(const std::string& path, uint32_t width, uint32_t height, int bits,
                      int channels, const std::vector<uint16_t>& samples) {
  FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) throw std::runtime_error("cannot write " + path);
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    std::fclose(file);
    throw std::runtime_error("libpng failed writing " + path);
  }
  png_init_io(png, file);
  png_set_IHDR(png, info, width, height, bits,
               channels == 4 ? PNG_COLOR_TYPE_RGB_ALPHA : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  const size_t row_samples = static_cast<size_t>(width) * static_cast<size_t>(channels);
  std::vector<unsigned char> row(row_samples * static_cast<size_t>(bits / 8));
  for (uint32_t r = 0; r < height; ++r) {
    for (size_t i = 0; i < row_samples; ++i) {
      const uint16_t v = samples[r * row_samples + i];
      if (bits == 16) {
        row[2 * i] = static_cast<unsigned char>(v >> 8);  // PNG is big-endian
        row[2 * i + 1] = static_cast<unsigned char>(v & 0xFF);
      } else {
        row[i] = static_cast<unsigned char>(v);
      }
    }
    png_write_row(png, row.data());
  }
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  std::fclose(file);
}

}  // namespace lowbit::data::testing
