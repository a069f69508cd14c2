// Reading HDF5 files (event recordings) through the HDF5 C library, with checks: every error names
// the file and the dataset, and no read allocates more than the file can really hold.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace lowbit::data {

/// The most a dataset's stored bytes may expand when read: deflate's densest expansion (1032x).
/// A read that would produce more than this times the dataset's stored bytes is refused before
/// allocating, so a small file declaring a huge dataset is an error, not a huge allocation.
inline constexpr int64_t kMaxHdf5Expansion = 1032;

/// Element kinds of a dataset.
enum class H5ElementKind { kInteger, kFloat, kOther };

/// Shape and element type of a dataset.
struct H5DatasetInfo {
  std::vector<int64_t> dims;                   ///< Dimensions; empty for a scalar.
  H5ElementKind kind = H5ElementKind::kOther;  ///< Integer, float or anything else.
  int64_t element_bytes = 0;                   ///< Bytes per element in the file.
  bool is_signed = true;                       ///< For integers: signed or not.
  /// "float64 [N, 4]"-style text for error messages.
  std::string text() const;
};

/// An HDF5 file opened read-only. Calls into the HDF5 library are serialized by a lock, since
/// Debian's serial HDF5 is not thread-safe.
class H5File {
 public:
  /// Opens `path`; throws util::FileError naming it when it is missing, a folder, not an HDF5
  /// file, or truncated (with the HDF5 library's reason).
  explicit H5File(const std::string& path);
  /// Closes the file.
  ~H5File();
  /// Not copyable: one owner closes the file.
  H5File(const H5File&) = delete;
  /// Not copyable: one owner closes the file.
  H5File& operator=(const H5File&) = delete;

  /// The file's path.
  const std::string& path() const { return path_; }
  /// True when `dataset` (a path such as "davis/left/events") names a dataset of the file.
  bool has(const std::string& dataset) const;
  /// Shape and type of `dataset`; throws util::FileError naming file and dataset when it is
  /// missing or not a dataset.
  H5DatasetInfo info(const std::string& dataset) const;
  /// Rows begin..end-1 of `dataset` (along its first dimension; all of a scalar), converted to
  /// `as` (torch::kFloat64 or torch::kInt64) by the HDF5 library. Throws util::FileError naming
  /// file and dataset for a bad range, a compression filter the library lacks, a read producing
  /// more than kMaxHdf5Expansion times the dataset's stored bytes, or a failed read.
  torch::Tensor read(const std::string& dataset, int64_t begin, int64_t end,
                     torch::ScalarType as) const;
  /// The whole of `dataset` (see read()).
  torch::Tensor read_all(const std::string& dataset, torch::ScalarType as) const;

 private:
  std::string path_;  ///< The file's path.
  int64_t id_ = -1;   ///< The HDF5 file handle (hid_t).
};

}  // namespace lowbit::data
