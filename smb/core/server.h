// SmbServer: SMB2/3 over direct TCP (MS-SMB2 2.1: 4-byte framing) on
// Boost.Asio, serving the backend through SmbConnection.
//
// Each connection is pinned to one I/O thread of the shared IoPool, which
// reads frames and writes responses (gather writes, no lock held across
// socket I/O). Frames are handed to a per-connection serial queue that runs
// on the worker pool, so a command that waits on the backend never stalls
// other connections, and one connection's commands are handled in order.
// A frame larger than the maximum message size, or one that is not SMB,
// closes that connection only.
//
// Thread safety: Listen/Stop from one controlling thread. The IoPool and
// Vfs are borrowed and must outlive the server.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "locking/cache_breaks.h"
#include "locking/lock_manager.h"
#include "locking/share_modes.h"
#include "net/io_pool.h"
#include "smb/core/options.h"
#include "util/status.h"
#include "vfs/vfs.h"

namespace concordfs::smb {

// One SMB session as the admin `clients` view shows it.
struct SmbSessionInfo {
  uint64_t session_id = 0;
  std::string user;     // "" for anonymous
  bool guest = false;   // guest or anonymous session
  std::string client;   // peer address:port
  std::string dialect;  // "2.0.2", "2.1", "3.0", "3.0.2", "3.1.1"
  bool signing = false;
  bool encrypted = false;
  uint32_t trees = 0;
  uint32_t opens = 0;
  uint32_t oplocks = 0;       // opens holding an oplock
  uint32_t leases = 0;        // opens holding a lease
  uint32_t durable = 0;       // durable/resilient opens
  bool disconnected = false;  // only durable opens left, kept for reconnect
  int64_t age_seconds = 0;    // since the session was set up
};

class SmbServer {
 public:
  // `shares` (may be null) is the share-mode table every front end uses.
  SmbServer(net::IoPool* pool, Vfs* vfs, locking::ShareModeTable* shares,
            SmbOptions opts, locking::LockManager* locks = nullptr,
            locking::CacheBreaks* breaks = nullptr);
  ~SmbServer();
  // Binds and starts accepting; errors name the address and port.
  Status Listen();
  uint16_t port() const;
  // Closes the listener and every connection (their opens are closed).
  void Stop();
  size_t connection_count() const;
  // A snapshot of every session (asks each connection on its own queue;
  // waits at most ~2 s for a busy one, which is then left out).
  std::vector<SmbSessionInfo> Sessions() const;
  // Applies a reloaded configuration's shares and users: new tree connects
  // and session setups see them at once; connected trees, sessions, opens
  // and locks stay. Other changed settings take effect only at restart:
  // their config keys are returned (the caller logs them).
  std::vector<std::string> Reload(const SmbOptions& next);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace concordfs::smb
