// AdminServer: the daemon's admin socket. A Unix-domain stream socket
// (mode 0600, owned by the daemon's user; connections from other users are
// also refused by their peer credentials) on which concordctl sends one
// JSON request per line and gets one JSON response per line
// (admin/protocol.h); the commands are AdminHandler's.
//
// Runs on its own thread: one connection at a time, each read bounded by a
// timeout, so a stuck client delays other admin clients but never a
// protocol thread. A stale socket file left by a crashed run is replaced;
// a path where another process is listening is refused.
//
// Owns its thread and socket; borrows what AdminSources names. Start and
// Stop are called from the daemon's main thread.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "daemon/admin_handlers.h"
#include "daemon/config.h"

namespace concordfs {

// Where the admin socket of `c` is: admin.socket, or <data_dir>/admin.sock.
std::string AdminSocketPath(const Config& c);

class AdminServer {
 public:
  explicit AdminServer(AdminSources sources);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Binds sources.socket_path and starts the thread. Errors name the path.
  Status Start();
  // Stops the thread and removes the socket file. Idempotent.
  void Stop();

 private:
  void Loop();
  void Serve(int fd);

  AdminHandler handler_;
  std::string path_;
  int listen_fd_ = -1;
  int stop_fds_[2] = {-1, -1};  // a pipe: Stop writes, Loop polls
  std::thread thread_;
};

}  // namespace concordfs
