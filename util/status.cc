#include "util/status.h"

#include <cstring>

namespace concordfs {

std::string ErrnoName(int code) {
  switch (code) {
#define CFS_ERRNO(e) \
  case e:            \
    return #e;
    CFS_ERRNO(EPERM)
    CFS_ERRNO(ENOENT)
    CFS_ERRNO(EIO)
    CFS_ERRNO(EBADF)
    CFS_ERRNO(EAGAIN)
    CFS_ERRNO(ENOMEM)
    CFS_ERRNO(EACCES)
    CFS_ERRNO(EBUSY)
    CFS_ERRNO(EEXIST)
    CFS_ERRNO(EXDEV)
    CFS_ERRNO(ENOTDIR)
    CFS_ERRNO(EISDIR)
    CFS_ERRNO(EINVAL)
    CFS_ERRNO(EMFILE)
    CFS_ERRNO(EFBIG)
    CFS_ERRNO(ENOSPC)
    CFS_ERRNO(EROFS)
    CFS_ERRNO(EMLINK)
    CFS_ERRNO(ERANGE)
    CFS_ERRNO(EDEADLK)
    CFS_ERRNO(ENAMETOOLONG)
    CFS_ERRNO(ENOLCK)
    CFS_ERRNO(ENOSYS)
    CFS_ERRNO(ENOTEMPTY)
    CFS_ERRNO(ELOOP)
    CFS_ERRNO(ENODATA)
    CFS_ERRNO(EOVERFLOW)
    CFS_ERRNO(EOPNOTSUPP)
    CFS_ERRNO(ESTALE)
    CFS_ERRNO(EUCLEAN)
    CFS_ERRNO(E2BIG)
    CFS_ERRNO(ETXTBSY)
    CFS_ERRNO(EINTR)
    CFS_ERRNO(ECANCELED)
#undef CFS_ERRNO
    default:
      return "E" + std::to_string(code);
  }
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string s = ErrnoName(code_);
  s += " (";
  s += std::strerror(code_);
  s += ")";
  if (!msg_.empty()) {
    s += ": ";
    s += msg_;
  }
  return s;
}

}  // namespace concordfs
