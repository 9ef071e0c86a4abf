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

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace concordfs::smb
