#include "daemon/admin_server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/log.h"

namespace concordfs {

namespace {

constexpr int kReadTimeoutMs = 5000;

Status SysError(const std::string& what, const std::string& path, int err) {
  return Status::Error(
      err, "admin socket " + path + ": " + what + ": " + std::strerror(err));
}

bool MakeAddr(const std::string& path, sockaddr_un* addr) {
  *addr = sockaddr_un{};
  addr->sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr->sun_path)) return false;
  std::memcpy(addr->sun_path, path.data(), path.size());
  return true;
}

// True if a process accepts connections on `path`.
bool SomeoneListens(const std::string& path) {
  sockaddr_un addr;
  if (!MakeAddr(path, &addr)) return false;
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  bool ok =
      ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

bool WriteAll(int fd, const std::string& s) {
  for (size_t done = 0; done < s.size();) {
    ssize_t n = ::send(fd, s.data() + done, s.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

std::string AdminSocketPath(const Config& c) {
  return c.admin_socket.empty() ? c.data_dir + "/admin.sock" : c.admin_socket;
}

AdminServer::AdminServer(AdminSources sources)
    : handler_(sources), path_(sources.socket_path) {}

AdminServer::~AdminServer() { Stop(); }

Status AdminServer::Start() {
  sockaddr_un addr, tmp_addr;
  // Bound under a temporary name, made 0600, then renamed into place, so
  // the socket is never reachable at its path with wider permissions.
  const std::string tmp = path_ + ".new";
  if (!MakeAddr(path_, &addr) || !MakeAddr(tmp, &tmp_addr)) {
    return Status::Invalid("admin socket " + path_ + ": path too long (" +
                           std::to_string(sizeof(addr.sun_path) - 6) +
                           " bytes at most)");
  }
  struct stat st {};
  if (::lstat(path_.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return SysError("exists and is not a socket", path_, EEXIST);
    }
    if (SomeoneListens(path_)) {
      return SysError("another process is listening on it", path_, EADDRINUSE);
    }
    CFS_LOG_INFO("admin: replacing the stale socket {}", path_);
  }
  ::unlink(tmp.c_str());
  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return SysError("socket", path_, errno);
  auto fail = [&](const char* what) {
    int err = errno;
    ::close(listen_fd_);
    listen_fd_ = -1;
    ::unlink(tmp.c_str());
    return SysError(what, path_, err);
  };
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&tmp_addr),
             sizeof(tmp_addr)) != 0) {
    return fail("bind");
  }
  if (::chmod(tmp.c_str(), 0600) != 0) return fail("chmod");
  if (::listen(listen_fd_, 16) != 0) return fail("listen");
  if (::rename(tmp.c_str(), path_.c_str()) != 0) return fail("rename");
  if (::pipe2(stop_fds_, O_CLOEXEC) != 0) {
    int err = errno;
    ::close(listen_fd_);
    listen_fd_ = -1;
    ::unlink(path_.c_str());
    return SysError("pipe", path_, err);
  }
  thread_ = std::thread([this] { Loop(); });
  CFS_LOG_INFO("admin socket at {} (concordctl --socket {})", path_, path_);
  return Status::Ok();
}

void AdminServer::Stop() {
  if (thread_.joinable()) {
    char b = 1;
    (void)!::write(stop_fds_[1], &b, 1);
    thread_.join();
  }
  for (int* fd : {&listen_fd_, &stop_fds_[0], &stop_fds_[1]}) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
  }
  if (!path_.empty()) {
    // Only our own socket: a later daemon may have replaced it.
    struct stat st {};
    if (::lstat(path_.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) {
      ::unlink(path_.c_str());
    }
    path_.clear();
  }
}

void AdminServer::Loop() {
  for (;;) {
    pollfd p[2] = {{stop_fds_[0], POLLIN, 0}, {listen_fd_, POLLIN, 0}};
    int n = ::poll(p, 2, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || p[0].revents) return;
    if (!(p[1].revents & POLLIN)) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    timeval tv{kReadTimeoutMs / 1000, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    ucred cred{};
    socklen_t len = sizeof(cred);
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
        (cred.uid != 0 && cred.uid != ::geteuid())) {
      CFS_LOG_WARN("admin: refused a connection from uid {} pid {}", cred.uid,
                   cred.pid);
      (void)WriteAll(fd, admin::EncodeLine(admin::ErrorResponse(
                             "permission denied: root or the daemon's user "
                             "only")));
      ::close(fd);
      continue;
    }
    Serve(fd);
    ::close(fd);
  }
}

// Answers requests on `fd` until the client closes it, stays silent for
// kReadTimeoutMs, sends an over-long line, or the daemon stops.
void AdminServer::Serve(int fd) {
  std::string buf;
  char chunk[65536];
  for (;;) {
    size_t nl;
    while ((nl = buf.find('\n')) != std::string::npos) {
      std::string line = buf.substr(0, nl);
      buf.erase(0, nl + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty()) continue;
      if (!WriteAll(fd, admin::EncodeLine(handler_.Handle(line)))) return;
    }
    if (buf.size() > admin::kMaxLineBytes) {
      (void)WriteAll(fd, admin::EncodeLine(admin::ErrorResponse(
                             "request longer than " +
                             std::to_string(admin::kMaxLineBytes) + " bytes")));
      return;
    }
    pollfd p[2] = {{stop_fds_[0], POLLIN, 0}, {fd, POLLIN, 0}};
    int n = ::poll(p, 2, kReadTimeoutMs);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || p[0].revents) return;
    ssize_t got = ::recv(fd, chunk, sizeof(chunk), 0);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      // A last request without its newline is still answered.
      if (got == 0 && !buf.empty()) {
        (void)WriteAll(fd, admin::EncodeLine(handler_.Handle(buf)));
      }
      return;
    }
    buf.append(chunk, static_cast<size_t>(got));
  }
}

}  // namespace concordfs
