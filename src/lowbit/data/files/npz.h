// Reading NumPy .npz files: a ZIP archive with one .npy member per array, as np.savez (stored
// members) and np.savez_compressed (deflate members) write it, zip64 records included (numpy puts
// them in every local header; archives over 4 GiB or 65535 members need them throughout). The
// archive is checked as util/zip_archive.h describes.
#pragma once

#include <torch/types.h>

#include <map>
#include <string>

namespace lowbit::data {

/// Reads every member of the .npz file `path` into a CPU tensor, keyed by the member name without
/// ".npy". Throws util::FileError naming the file (and the member) for a file that is not a ZIP
/// archive, a truncated or damaged archive, a failed CRC-32, a compression method other than
/// stored or deflate, encryption, or a member that is not a valid .npy file.
std::map<std::string, torch::Tensor> read_npz(const std::string& path);

/// Reads the member `key` (without ".npy") of the .npz file `path`; throws util::FileError naming
/// the file and the key when the archive has no such member.
torch::Tensor read_npz_member(const std::string& path, const std::string& key);

}  // namespace lowbit::data
