// What every data reader does with the file it is given: refuse a folder or a missing path by
// name, and quote the offending bytes of a bad file in an error without echoing megabytes.
#pragma once

#include <string>
#include <string_view>

namespace lowbit::data {

/// The most characters of a file's content that an error message quotes.
inline constexpr size_t kMaxEcho = 60;

/// The whole content of `path`. Throws util::FileError naming the path when it is a folder, does
/// not exist or cannot be read; `expected` says what it should be (e.g. "a .npy file").
std::string read_input_file(const std::string& path, const std::string& expected);

/// `text` for an error message: at most kMaxEcho characters, then "... (N bytes)" when cut.
std::string echo(std::string_view text);

}  // namespace lowbit::data
