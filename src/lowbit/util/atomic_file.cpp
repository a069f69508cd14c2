#include "lowbit/util/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
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
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  try {
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      if (!out)
        throw FileError("cannot create '" + tmp + "' to write '" + path + "': " + errno_text());
      write(out);
      out.flush();
      if (!out) throw FileError("cannot write '" + path + "' (via '" + tmp + "'): " + errno_text());
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

}  // namespace lowbit::util
