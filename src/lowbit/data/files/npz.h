// Reading NumPy .npz files: a ZIP archive with one .npy member per array, as np.savez (stored
// members) and np.savez_compressed (deflate members) write it. Sizes and offsets come from the
// central directory, so local headers with ZIP64 extras (numpy forces them) are read fine; an
// archive whose central directory needs ZIP64 (over 4 GiB or 65535 members) is rejected.
#pragma once

#include <torch/types.h>

#include <map>
#include <string>

namespace lowbit::data {

/// Reads every member of the .npz file `path` into a CPU tensor, keyed by the member name without
/// ".npy". Throws util::FileError naming the file (and the member) for a file that is not a ZIP
/// archive, a truncated archive, a CRC mismatch, a compression method other than stored or
/// deflate, encryption, ZIP64, or a member that is not a valid .npy file.
std::map<std::string, torch::Tensor> read_npz(const std::string& path);

/// Reads the member `key` (without ".npy") of the .npz file `path`; throws util::FileError naming
/// the file and the key when the archive has no such member.
torch::Tensor read_npz_member(const std::string& path, const std::string& key);

}  // namespace lowbit::data
