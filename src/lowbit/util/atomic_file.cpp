#include "lowbit/util/atomic_file.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace lowbit::util {
namespace {

std::string errno_text() {
  return std::strerror(errno);
}

// fsync so that a crash right after the rename cannot leave an empty file under the new name.
void sync_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) throw FileError("cannot reopen '" + path + "' to sync it: " + errno_text());
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) throw FileError("cannot sync '" + path + "': " + errno_text());
}

}  // namespace

void write_file_atomically(const std::string& path,
                           const std::function<void(std::ostream&)>& write) {
  const std::string tmp = atomic_temp_path(path, ::getpid());
  try {
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      if (!out)
        throw FileError("cannot create '" + tmp + "' to write '" + path + "': " + errno_text());
      write(out);
      out.flush();
      if (!out) throw FileError("cannot write '" + path + "' (via '" + tmp + "'): " + errno_text());
      out.close();
      if (!out) throw FileError("cannot close '" + tmp + "' for '" + path + "': " + errno_text());
    }
    sync_file(tmp);
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
      throw FileError("cannot rename '" + tmp + "' to '" + path + "': " + errno_text());
    }
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
}

void write_text_atomically(const std::string& path, const std::string& content) {
  write_file_atomically(path, [&](std::ostream& out) { out << content; });
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FileError("cannot open '" + path + "': " + errno_text());
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw FileError("cannot read '" + path + "'");
  return buffer.str();
}

std::string atomic_temp_path(const std::string& path, long pid) {
  return path + ".tmp." + std::to_string(pid);
}

bool process_is_gone(long pid) {
  // pid 0, 1 and negative values mean process groups or init to kill(); never treat them as gone.
  if (pid <= 1 || pid > INT_MAX) return false;
  return ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
}

std::vector<std::string> remove_stale_temp_files(const std::string& dir) {
  namespace fs = std::filesystem;
  std::vector<std::string> removed;
  std::error_code list_error;
  for (fs::directory_iterator it(dir, list_error), end; !list_error && it != end;
       it.increment(list_error)) {
    std::error_code ec;
    if (!fs::is_regular_file(it->symlink_status(ec))) continue;
    const std::string name = it->path().filename().string();
    const size_t mark = name.rfind(".tmp.");
    if (mark == std::string::npos || mark == 0) continue;
    const std::string digits = name.substr(mark + 5);
    if (digits.empty() || digits.size() > 9 ||
        digits.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    if (!process_is_gone(std::stol(digits))) continue;
    if (!fs::remove(it->path(), ec) && ec) {
      throw FileError("cannot remove the stale temporary file '" + it->path().string() +
                      "': " + ec.message());
    }
    removed.push_back(it->path().string());
  }
  if (list_error && list_error != std::errc::no_such_file_or_directory) {
    throw FileError("cannot list '" + dir +
                    "' to remove stale temporary files: " + list_error.message());
  }
  return removed;
}

}  // namespace lowbit::util
