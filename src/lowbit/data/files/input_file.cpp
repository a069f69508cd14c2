#include "lowbit/data/files/input_file.h"

#include <filesystem>

#include "lowbit/util/atomic_file.h"

namespace lowbit::data {

std::string read_input_file(const std::string& path, const std::string& expected) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (std::filesystem::is_directory(status)) {
    throw util::FileError(path + ": is a folder (expected " + expected + ")");
  }
  if (!std::filesystem::exists(status)) {
    throw util::FileError(path + ": no such file (expected " + expected + ")");
  }
  return util::read_file(path);
}

std::string echo(std::string_view text) {
  if (text.size() <= kMaxEcho) return std::string(text);
  return std::string(text.substr(0, kMaxEcho)) + "... (" + std::to_string(text.size()) + " bytes)";
}

}  // namespace lowbit::data
