#include "lowbit/data/files/npz.h"

#include <string_view>

#include "lowbit/data/files/input_file.h"
#include "lowbit/data/files/npy.h"
#include "lowbit/util/atomic_file.h"
#include "lowbit/util/zip_archive.h"

namespace lowbit::data {
namespace {

constexpr std::string_view kLocalSignature("PK\x03\x04", 4);

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw util::FileError(path + ": " + what);
}

std::string strip_npy(const std::string& name) {
  const std::string suffix = ".npy";
  if (name.size() > suffix.size() &&
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
    return name.substr(0, name.size() - suffix.size());
  }
  return name;
}

}  // namespace

std::map<std::string, torch::Tensor> read_npz(const std::string& path) {
  const std::string bytes = read_input_file(path, "an .npz file");
  if (bytes.compare(0, kLocalSignature.size(), kLocalSignature) != 0) {
    fail(path, "not a ZIP archive (.npz expected)");
  }
  std::map<std::string, torch::Tensor> arrays;
  try {
    // Zip tools may add an archive comment; numpy's own archives inflate at most as deflate can.
    util::ZipOptions options;
    options.allow_comment = true;
    for (const util::ZipMember& member : util::zip_members(bytes, options)) {
      const std::string key = strip_npy(member.name);
      if (arrays.count(key) != 0) fail(path, "member '" + member.name + "' appears twice");
      arrays[key] = read_npy_bytes(util::zip_member_bytes(bytes, member), path + ":" + member.name);
    }
  } catch (const util::ZipError& e) {
    fail(path, e.what());
  }
  return arrays;
}

torch::Tensor read_npz_member(const std::string& path, const std::string& key) {
  std::map<std::string, torch::Tensor> arrays = read_npz(path);
  auto found = arrays.find(key);
  if (found == arrays.end()) {
    std::string names;
    for (const auto& [name, tensor] : arrays) names += (names.empty() ? "" : ", ") + name;
    fail(path, "no member '" + key + "' (members: " + names + ")");
  }
  return found->second;
}

}  // namespace lowbit::data
