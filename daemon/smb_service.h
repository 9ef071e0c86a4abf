// SmbService: the daemon's SMB2/3 side — its I/O threads and the SMB
// server — wired from the Config.
//
// Owns what it creates; borrows the Backend (which must outlive it). Start,
// Stop and Reload are called from the daemon's main thread only; Describe
// and Sessions from any thread.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "daemon/backend.h"
#include "net/io_pool.h"
#include "smb/core/options.h"
#include "smb/core/server.h"

namespace concordfs {

class SmbService {
 public:
  SmbService(Backend* backend, smb::SmbOptions opts)
      : backend_(backend), opts_(std::move(opts)) {}
  ~SmbService();
  // Binds the listener; errors name the address and port.
  Status Start();
  void Stop();
  uint16_t port() const;
  // One line per listener and share, for the start-up log.
  std::vector<std::string> Describe() const;
  // The shares in force (as configured, or as the last reload left them).
  std::vector<smb::SmbShare> Shares() const;
  // See smb::SmbServer::Sessions().
  std::vector<smb::SmbSessionInfo> Sessions() const;
  // SIGHUP: applies the new shares and users (see smb::SmbServer::Reload);
  // returns the changed config keys that need a restart.
  std::vector<std::string> Reload(const smb::SmbOptions& next);

 private:
  Backend* backend_;
  mutable std::mutex mu_;  // opts_'s shares and users change on Reload
  smb::SmbOptions opts_;
  std::unique_ptr<net::IoPool> pool_;
  std::unique_ptr<smb::SmbServer> server_;
};

}  // namespace concordfs
