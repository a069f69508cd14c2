#include "lowbit/data/files/hdf5_file.h"

#include <hdf5.h>

#include <filesystem>
#include <mutex>
#include <type_traits>

#include "lowbit/util/atomic_file.h"

namespace lowbit::data {
namespace {

static_assert(std::is_same_v<hid_t, int64_t>, "H5File stores hid_t as int64_t");

// Debian's serial HDF5 is built without thread safety: one call at a time in this process.
std::recursive_mutex& hdf5_lock() {
  static std::recursive_mutex lock;
  return lock;
}

// The library prints its error stack to stderr by default; errors become exceptions instead.
void silence_hdf5() {
  static const bool done = [] {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    return true;
  }();
  (void)done;
}

herr_t first_description(unsigned, const H5E_error2_t* error, void* data) {
  auto* out = static_cast<std::string*>(data);
  if (out->empty() && error != nullptr && error->desc != nullptr) *out = error->desc;
  return 0;
}

// The most specific message on HDF5's error stack (e.g. "truncated file: eof = ..."), cleared.
std::string hdf5_reason() {
  std::string reason;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, first_description, &reason);
  H5Eclear2(H5E_DEFAULT);
  return reason.empty() ? "no reason given by the HDF5 library" : reason;
}

// Closes an HDF5 handle when it goes out of scope.
class Handle {
 public:
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~Handle() {
    if (id_ >= 0) close_(id_);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  hid_t get() const { return id_; }
  bool ok() const { return id_ >= 0; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

std::string where(const std::string& path, const std::string& dataset) {
  return path + ": dataset '" + dataset + "'";
}

// Opens `dataset`, checking each group on its path so a missing one is named, not an HDF5 error.
hid_t open_dataset(hid_t file, const std::string& path, const std::string& dataset) {
  std::string prefix;
  size_t start = 0;
  while (true) {
    const size_t slash = dataset.find('/', start);
    prefix = dataset.substr(0, slash);
    if (!prefix.empty() && H5Lexists(file, prefix.c_str(), H5P_DEFAULT) <= 0) {
      H5Eclear2(H5E_DEFAULT);
      throw util::FileError(where(path, dataset) + ": missing ('" + prefix +
                            "' does not exist in the file)");
    }
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  const hid_t id = H5Dopen2(file, dataset.c_str(), H5P_DEFAULT);
  if (id < 0) {
    throw util::FileError(where(path, dataset) + ": not a readable dataset (" + hdf5_reason() +
                          ")");
  }
  return id;
}

H5DatasetInfo describe(hid_t dset, const std::string& path, const std::string& dataset) {
  Handle space(H5Dget_space(dset), H5Sclose);
  Handle type(H5Dget_type(dset), H5Tclose);
  const int rank = space.ok() ? H5Sget_simple_extent_ndims(space.get()) : -1;
  if (!type.ok() || rank < 0 || rank > 32) {
    throw util::FileError(where(path, dataset) + ": unreadable shape or type (" + hdf5_reason() +
                          ")");
  }
  H5DatasetInfo info;
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  for (hsize_t d : dims) info.dims.push_back(static_cast<int64_t>(d));
  const H5T_class_t cls = H5Tget_class(type.get());
  info.kind = cls == H5T_INTEGER ? H5ElementKind::kInteger
              : cls == H5T_FLOAT ? H5ElementKind::kFloat
                                 : H5ElementKind::kOther;
  info.element_bytes = static_cast<int64_t>(H5Tget_size(type.get()));
  if (cls == H5T_INTEGER) info.is_signed = H5Tget_sign(type.get()) == H5T_SGN_2;
  return info;
}

// Every filter of the dataset (compression, shuffle, ...) must be available in this library.
void require_filters(hid_t dset, const std::string& path, const std::string& dataset) {
  Handle plist(H5Dget_create_plist(dset), H5Pclose);
  const int filters = plist.ok() ? H5Pget_nfilters(plist.get()) : 0;
  for (int i = 0; i < filters; ++i) {
    unsigned flags = 0, config = 0;
    size_t values = 0;
    char name[64] = {};
    const H5Z_filter_t id = H5Pget_filter2(plist.get(), static_cast<unsigned>(i), &flags, &values,
                                           nullptr, sizeof(name), name, &config);
    if (id >= 0 && H5Zfilter_avail(id) <= 0) {
      H5Eclear2(H5E_DEFAULT);
      throw util::FileError(
          where(path, dataset) + ": compressed with HDF5 filter " + std::to_string(id) + " (" +
          name +
          "), which this HDF5 library cannot decode (install its plugin, e.g. Debian's "
          "hdf5-filter-plugin or hdf5-filter-plugin-blosc-serial, and set HDF5_PLUGIN_PATH)");
    }
  }
}

}  // namespace

std::string H5DatasetInfo::text() const {
  std::string s = kind == H5ElementKind::kInteger ? (is_signed ? "int" : "uint")
                  : kind == H5ElementKind::kFloat ? "float"
                                                  : "non-numeric ";
  s += std::to_string(element_bytes * 8) + " [";
  for (size_t d = 0; d < dims.size(); ++d) s += (d ? ", " : "") + std::to_string(dims[d]);
  return s + "]";
}

H5File::H5File(const std::string& path) : path_(path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (std::filesystem::is_directory(status)) {
    throw util::FileError(path + ": is a folder (expected an HDF5 file)");
  }
  if (!std::filesystem::exists(status)) {
    throw util::FileError(path + ": no such file (expected an HDF5 file)");
  }
  std::lock_guard<std::recursive_mutex> guard(hdf5_lock());
  silence_hdf5();
  id_ = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (id_ < 0) {
    throw util::FileError(path + ": not a readable HDF5 file (" + hdf5_reason() + ")");
  }
}

H5File::~H5File() {
  std::lock_guard<std::recursive_mutex> guard(hdf5_lock());
  if (id_ >= 0) H5Fclose(id_);
}

bool H5File::has(const std::string& dataset) const {
  std::lock_guard<std::recursive_mutex> guard(hdf5_lock());
  try {
    Handle dset(open_dataset(id_, path_, dataset), H5Dclose);
    return true;
  } catch (const util::FileError&) {
    return false;
  }
}

H5DatasetInfo H5File::info(const std::string& dataset) const {
  std::lock_guard<std::recursive_mutex> guard(hdf5_lock());
  Handle dset(open_dataset(id_, path_, dataset), H5Dclose);
  return describe(dset.get(), path_, dataset);
}

torch::Tensor H5File::read(const std::string& dataset, int64_t begin, int64_t end,
                           torch::ScalarType as) const {
  if (as != torch::kFloat64 && as != torch::kInt64) {
    throw std::invalid_argument("H5File::read: `as` must be float64 or int64");
  }
  std::lock_guard<std::recursive_mutex> guard(hdf5_lock());
  Handle dset(open_dataset(id_, path_, dataset), H5Dclose);
  const H5DatasetInfo info = describe(dset.get(), path_, dataset);
  if (info.kind == H5ElementKind::kOther) {
    throw util::FileError(where(path_, dataset) + ": holds " + info.text() + " (expected numbers)");
  }
  const bool scalar = info.dims.empty();
  const int64_t rows = scalar ? 1 : info.dims[0];
  if (begin < 0 || end < begin || end > rows) {
    throw util::FileError(where(path_, dataset) + ": rows " + std::to_string(begin) + ".." +
                          std::to_string(end) + " requested, it has " + std::to_string(rows));
  }
  std::vector<int64_t> shape = info.dims;
  if (!scalar) shape[0] = end - begin;
  int64_t elements = 1;
  for (int64_t d : shape) {
    if (d != 0 && elements > (int64_t{1} << 40) / d) {
      throw util::FileError(where(path_, dataset) + ": " + info.text() + " is too large");
    }
    elements *= d;
  }
  if (elements == 0) return torch::empty(shape, as);
  require_filters(dset.get(), path_, dataset);
  // Bounded by what the file stores: a small file cannot declare its way to a huge allocation.
  const auto stored = static_cast<int64_t>(H5Dget_storage_size(dset.get()));
  const int64_t file_bytes = static_cast<int64_t>(std::filesystem::file_size(path_));
  if (stored > file_bytes || elements * 8 > kMaxHdf5Expansion * stored + 4096) {
    throw util::FileError(where(path_, dataset) + ": declares " + info.text() + " but stores " +
                          std::to_string(stored) + " bytes in a file of " +
                          std::to_string(file_bytes) + " (truncated or not written)");
  }
  torch::Tensor out = torch::empty(shape, as);  // only now: the size is backed by the file
  std::vector<hsize_t> start(shape.size(), 0), count(shape.begin(), shape.end());
  Handle file_space(H5Dget_space(dset.get()), H5Sclose);
  Handle memory_space(
      scalar ? hid_t{-1} : H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr),
      H5Sclose);
  if (!scalar) {
    start[0] = static_cast<hsize_t>(begin);
    H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(),
                        nullptr);
  }
  const hid_t mem = scalar ? H5S_ALL : memory_space.get();
  const hid_t selection = scalar ? H5S_ALL : file_space.get();
  const hid_t type = as == torch::kFloat64 ? H5T_NATIVE_DOUBLE : H5T_NATIVE_INT64;
  if (H5Dread(dset.get(), type, mem, selection, H5P_DEFAULT, out.data_ptr()) < 0) {
    throw util::FileError(where(path_, dataset) + ": read failed (" + hdf5_reason() + ")");
  }
  return out;
}

torch::Tensor H5File::read_all(const std::string& dataset, torch::ScalarType as) const {
  const H5DatasetInfo i = info(dataset);
  return read(dataset, 0, i.dims.empty() ? 1 : i.dims[0], as);
}

}  // namespace lowbit::data
