#include "lowbit/cli/output_files.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "lowbit/util/atomic_file.h"

namespace lowbit::cli {

void write_outputs(const std::vector<OutputFile>& files) {
  for (size_t i = 0; i < files.size(); ++i) {
    for (size_t j = i + 1; j < files.size(); ++j) {
      if (files[i].first == files[j].first) {
        throw util::FileError("'" + files[i].first + "' is named for two different outputs");
      }
    }
  }
  std::vector<std::string> staged;
  auto remove_staged = [&staged](size_t from) {
    for (size_t i = from; i < staged.size(); ++i) std::remove(staged[i].c_str());
  };
  try {
    for (const auto& [path, content] : files) {
      const std::string stage = path + ".lowbit-staged";
      util::write_text_atomically(stage, content);
      staged.push_back(stage);
    }
  } catch (...) {
    remove_staged(0);
    throw;
  }
  for (size_t i = 0; i < files.size(); ++i) {
    if (std::rename(staged[i].c_str(), files[i].first.c_str()) != 0) {
      const std::string why = std::strerror(errno);
      remove_staged(i);
      throw util::FileError("cannot rename '" + staged[i] + "' to '" + files[i].first +
                            "': " + why);
    }
  }
}

}  // namespace lowbit::cli
