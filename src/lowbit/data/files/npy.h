// Reading and writing NumPy .npy files (format versions 1.0, 2.0 and 3.0; little-endian, C order).
// Layout: "\x93NUMPY", major, minor, header length (uint16 for 1.0, uint32 for 2.0/3.0), a Python
// dict literal {'descr': ..., 'fortran_order': False, 'shape': (...), } padded with spaces and a
// final '\n' so the data starts on a 64-byte boundary, then the raw array bytes.
#pragma once

#include <torch/types.h>

#include <string>

namespace lowbit::data {

/// Reads a .npy file into a CPU tensor of the matching dtype (float32, float64, int8, uint8,
/// int32, int64) and shape. Throws util::FileError naming the file and what was expected for any
/// other dtype, big-endian data, Fortran order, a bad magic, a truncated header or a data size
/// that does not match the shape.
torch::Tensor read_npy(const std::string& path);

/// Parses the bytes of a .npy file; `name` (a path, or an archive member) goes into error messages.
torch::Tensor read_npy_bytes(const std::string& bytes, const std::string& name);

/// The bytes of a .npy file (version 1.0, or 2.0 when the header needs it) holding `t` in C order.
/// Supports float32, float64, int8, uint8, int32 and int64; throws util::FileError naming `name`
/// for any other dtype.
std::string npy_bytes(const torch::Tensor& t, const std::string& name);

/// Writes `t` to `path` as a .npy file, atomically (see util::write_file_atomically).
void write_npy(const std::string& path, const torch::Tensor& t);

}  // namespace lowbit::data
