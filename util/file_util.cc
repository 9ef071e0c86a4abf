#include "util/file_util.h"

#include <fcntl.h>
#include <unistd.h>

namespace concordfs {

Status WriteFileAtomically(const std::string& path, std::string_view data,
                           int mode) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return Status::Error(errno, "create " + tmp);
  bool ok = ::write(fd, data.data(), data.size()) ==
                static_cast<ssize_t>(data.size()) &&
            ::fsync(fd) == 0;
  int err = errno;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    if (ok) err = errno;
    ::unlink(tmp.c_str());
    return Status::Error(err, "write " + path);
  }
  return Status::Ok();
}

}  // namespace concordfs
