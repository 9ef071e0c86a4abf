// Test fixture for NFS integration tests: runs the real `concordfs` daemon
// (env CFS_DAEMON_BIN) on a private data directory and loopback port, and
// talks to it with libnfs — its high-level API (nfs_context) and its raw
// RPC API (rpc_context + rpc_nfs3_*_async / rpc_mount3_*_async), driven
// synchronously here.
//
// NfsDaemon: Start(yaml_extra) writes a config (memory-free LevelDB store
// under a temp dir, FUSE mount optional, NFS on 127.0.0.1:<free port>,
// portmapper off unless the extra YAML says otherwise) and waits until NFS
// answers. Stop() is SIGTERM + wait; Kill() is SIGKILL; Restart() keeps the
// data directory and port. Not thread-safe; one per test.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>

// libnfs.h first: the raw headers need its definitions.
// clang-format off
#include <nfsc/libnfs.h>
#include <nfsc/libnfs-raw.h>
#include <nfsc/libnfs-raw-mount.h>
#include <nfsc/libnfs-raw-nfs.h>
// clang-format on

namespace cfs_nfs_test {

// A TCP+UDP port that is free right now on 127.0.0.1.
inline uint16_t FreePort() {
  for (int attempt = 0; attempt < 50; ++attempt) {
    int s = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    socklen_t len = sizeof(a);
    ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(s);
    uint16_t port = ntohs(a.sin_port);
    int u = ::socket(AF_INET, SOCK_DGRAM, 0);
    a.sin_port = htons(port);
    bool udp_free = ::bind(u, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
    ::close(u);
    if (udp_free) return port;
  }
  return 0;
}

inline bool TcpConnects(uint16_t port) {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  bool ok = ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  ::close(s);
  return ok;
}

// libnfs 4.0 places the nodes of decoded lists (mountbody, exportnode,
// entry3, entryplus3, ...) at 4-byte alignment; read each node through a
// copy (UBSan rejects the misaligned member access otherwise).
template <typename T>
T Node(const void* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

class NfsDaemon {
 public:
  NfsDaemon() {
    char tmpl[] = "/tmp/cfs-nfs-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
    port_ = FreePort();
  }
  ~NfsDaemon() {
    Kill();
    std::error_code ec;
    if (!mount_path_.empty()) {
      std::string cmd = "fusermount3 -uz '" + mount_path_ + "' 2>/dev/null";
      (void)std::system(cmd.c_str());
    }
    std::filesystem::remove_all(dir_, ec);
  }

  const std::string& dir() const { return dir_; }
  uint16_t port() const { return port_; }
  // "nfs://127.0.0.1<export>?version=3&nfsport=P&mountport=P"
  std::string Url(const std::string& path = "/") const {
    return "nfs://127.0.0.1" + path +
           "?version=3&nfsport=" + std::to_string(port_) +
           "&mountport=" + std::to_string(port_);
  }
  // Enables the FUSE mount at <dir>/mnt (call before Start).
  std::string EnableMount() {
    mount_path_ = dir_ + "/mnt";
    return mount_path_;
  }

  // `nfs_extra`: YAML lines placed inside the `nfs:` section (indented by
  // two spaces by the caller), e.g. an `exports:` list. Without it, `/` is
  // exported to 127.0.0.0/8 with squash none.
  bool Start(const std::string& nfs_extra = "") {
    nfs_extra_ = nfs_extra;
    std::ofstream cfg(dir_ + "/concordfs.yaml");
    cfg << "data_dir: " << dir_ << "/data\n"
        << "log_level: warn\n"
        << "sync: batch\n"
        << "locks: {grace_period: 0}\n";
    if (mount_path_.empty()) {
      cfg << "mount: {enabled: false}\n";
    } else {
      cfg << "mount: {enabled: true, path: " << mount_path_
          << ", allow_other: true}\n";
    }
    cfg << "smb: {enabled: false}\n";
    cfg << "nfs:\n  port: " << port_ << "\n  portmapper: off\n";
    if (nfs_extra.empty()) {
      cfg << "  exports:\n    - {path: /, clients: [127.0.0.0/8], squash: "
             "none}\n";
    } else {
      cfg << nfs_extra;
    }
    cfg.close();
    return Launch();
  }
  bool Restart() {
    Stop();
    return Launch();
  }
  // SIGTERM and wait (clean stop).
  void Stop() { Signal(SIGTERM); }
  // SIGKILL and wait (crash).
  void Kill() { Signal(SIGKILL); }
  pid_t pid() const { return pid_; }
  bool Running() {
    if (pid_ <= 0) return false;
    int status;
    return ::waitpid(pid_, &status, WNOHANG) == 0;
  }
  std::string Log() const {
    std::ifstream f(dir_ + "/daemon.log");
    return std::string(std::istreambuf_iterator<char>(f), {});
  }

 private:
  bool Launch() {
    const char* bin = std::getenv("CFS_DAEMON_BIN");
    if (bin == nullptr) {
      ADD_FAILURE() << "set CFS_DAEMON_BIN to the concordfs binary";
      return false;
    }
    std::string cfg = dir_ + "/concordfs.yaml";
    std::string log = dir_ + "/daemon.log";
    pid_ = ::fork();
    if (pid_ == 0) {
      // If the test process dies (e.g. a sanitizer abort), so does the
      // daemon: no leaked servers.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::execl(bin, bin, "--config", cfg.c_str(), nullptr);
      ::_exit(127);
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      if (!Running()) {
        ADD_FAILURE() << "daemon exited:\n" << Log();
        pid_ = -1;
        return false;
      }
      if (TcpConnects(port_)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ADD_FAILURE() << "daemon did not listen on " << port_ << ":\n" << Log();
    return false;
  }
  void Signal(int sig) {
    if (pid_ <= 0) return;
    ::kill(pid_, sig);
    int status;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  std::string dir_;
  std::string mount_path_;
  std::string nfs_extra_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
};

// libnfs high-level context mounted on an export of the daemon.
class NfsMount {
 public:
  NfsMount() : nfs_(nfs_init_context()) {}
  ~NfsMount() {
    if (nfs_ != nullptr) nfs_destroy_context(nfs_);
  }
  NfsMount(const NfsMount&) = delete;
  NfsMount& operator=(const NfsMount&) = delete;

  // Mounts `export_path` (e.g. "/") of `d`; uid/gid for AUTH_SYS (-1 keeps
  // libnfs's default: the caller's). Returns libnfs's error code (0 = ok).
  int Mount(const NfsDaemon& d, const std::string& export_path = "/",
            int uid = -1, int gid = -1) {
    if (uid >= 0) nfs_set_uid(nfs_, uid);
    if (gid >= 0) nfs_set_gid(nfs_, gid);
    struct nfs_url* url = nfs_parse_url_dir(nfs_, d.Url(export_path).c_str());
    if (url == nullptr) return -EINVAL;
    int rc = nfs_mount(nfs_, url->server, url->path);
    nfs_destroy_url(url);
    return rc;
  }
  struct nfs_context* get() {
    return nfs_;
  }
  std::string error() { return nfs_get_error(nfs_); }

 private:
  struct nfs_context* nfs_;
};

// A raw libnfs RPC connection to one program on the daemon's port, with
// synchronous calls: Call([&](rpc, cb, priv) { return rpc_nfs3_x_async(rpc,
// cb, &args, priv); }) returns the status and keeps the reply bytes
// decoded by libnfs in the callback passed to `on_reply`.
class RawRpc {
 public:
  RawRpc() : rpc_(rpc_init_context()) {}
  ~RawRpc() {
    if (rpc_ != nullptr) rpc_destroy_context(rpc_);
  }
  RawRpc(const RawRpc&) = delete;
  RawRpc& operator=(const RawRpc&) = delete;

  struct rpc_context* get() {
    return rpc_;
  }

  // Connects to `program`/`version` on 127.0.0.1:port (no portmapper).
  bool Connect(uint16_t port, int program, int version) {
    done_ = false;
    if (rpc_connect_port_async(rpc_, "127.0.0.1", port, program, version,
                               &RawRpc::Callback, this) != 0) {
      return false;
    }
    return Wait() && status_ == RPC_STATUS_SUCCESS;
  }

  // Issues one call; `on_reply(status, data)` runs in the callback with
  // libnfs's decoded result (data is e.g. GETATTR3res*). Returns the RPC
  // status (RPC_STATUS_SUCCESS, _ERROR, _CANCEL, _TIMEOUT).
  int Call(const std::function<int(struct rpc_context*, rpc_cb, void*)>& issue,
           std::function<void(int, void*)> on_reply = nullptr) {
    done_ = false;
    on_reply_ = std::move(on_reply);
    if (issue(rpc_, &RawRpc::Callback, this) != 0) return -1;
    if (!Wait()) return RPC_STATUS_TIMEOUT;
    return status_;
  }
  std::string error() { return rpc_get_error(rpc_); }

 private:
  static void Callback(struct rpc_context*, int status, void* data,
                       void* priv) {
    auto* self = static_cast<RawRpc*>(priv);
    self->status_ = status;
    if (self->on_reply_) self->on_reply_(status, data);
    self->done_ = true;
  }
  bool Wait(int timeout_ms = 20000) {
    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::milliseconds(timeout_ms);
    while (!done_) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      pollfd p{rpc_get_fd(rpc_), static_cast<short>(rpc_which_events(rpc_)), 0};
      int n = ::poll(&p, 1, 100);
      if (n < 0) return false;
      if (rpc_service(rpc_, n > 0 ? p.revents : 0) < 0) {
        status_ = RPC_STATUS_ERROR;
        return true;
      }
    }
    return true;
  }

  struct rpc_context* rpc_;
  bool done_ = false;
  int status_ = 0;
  std::function<void(int, void*)> on_reply_;
};

}  // namespace cfs_nfs_test
