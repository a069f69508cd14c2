// Writing several output files as one step: all of them, or (on any failure) none of them.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace lowbit::cli {

/// A file to write: its path and its complete content.
using OutputFile = std::pair<std::string, std::string>;

/// Writes every file: each is first staged beside its target (written, synced), and only when all
/// are staged are they renamed over their targets. If staging fails, nothing is changed and the
/// staged files are removed. Throws util::FileError naming the path; also when two outputs share
/// a path.
void write_outputs(const std::vector<OutputFile>& files);

}  // namespace lowbit::cli
