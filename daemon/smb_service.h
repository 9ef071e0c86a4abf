// SmbService: the daemon's SMB2/3 side — its I/O threads and the SMB
// server — wired from the Config.
//
// Owns what it creates; borrows the Backend (which must outlive it). Start
// and Stop are called from the daemon's main thread only.
#pragma once

#include <memory>
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

 private:
  Backend* backend_;
  smb::SmbOptions opts_;
  std::unique_ptr<net::IoPool> pool_;
  std::unique_ptr<smb::SmbServer> server_;
};

}  // namespace concordfs
