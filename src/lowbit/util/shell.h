// Running external tools (compilers, emulators) through the shell, with safe quoting.
#pragma once

#include <string>

namespace lowbit::util {

/// `text` as one single-quoted shell word (embedded quotes escaped).
std::string shell_quote(const std::string& text);

/// Runs a shell command with stdout and stderr in file `log`; returns its exit status, or -1 when
/// it did not exit normally (killed by a signal).
int run_shell(const std::string& command, const std::string& log);

/// Whether `program` is an executable found on PATH.
bool on_path(const std::string& program);

/// The content of a log file, or "(no output)" when it cannot be read.
std::string read_log(const std::string& log);

}  // namespace lowbit::util
