// NfsService: the daemon's NFSv3 side — the RPC thread pool, the NFS and
// MOUNT listeners, the portmapper (embedded or a system rpcbind), the
// export table and the file-handle key — wired from the Config.
//
// Owns everything it creates; borrows the Backend (which must outlive it).
// Start, Stop and the reload steps (BuildExports, ReplaceExports) are
// called from the daemon's main thread only; the served programs run on the
// pool and read the export table through an ExportRegistry, so a reload
// never waits for them nor drops a connection, mount or lock. Describe,
// Exports and LockHosts may be called from any thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "daemon/backend.h"
#include "rpc/exports.h"
#include "rpc/file_handle.h"
#include "rpc/mount/mount.h"
#include "rpc/nfs3/nfs3.h"
#include "rpc/nlm/nlm.h"
#include "rpc/portmap/portmap.h"
#include "rpc/server.h"

namespace concordfs {

class NfsService {
 public:
  explicit NfsService(Backend* backend) : backend_(backend) {}
  ~NfsService();
  // Builds the export table, binds the listeners and sets up the
  // portmapper as configured. Errors name the address/port or export.
  Status Start();
  void Stop();

  uint16_t nfs_port() const;
  uint16_t mount_port() const;
  // 0 unless the portmapper is embedded.
  uint16_t portmap_port() const;
  // One line per listener and export, for the start-up log.
  std::vector<std::string> Describe() const;

  // Reload (SIGHUP), step 1: resolves the export list against the backend
  // as Start does (errors name the export). Nothing changes yet.
  Result<rpc::ExportTable> BuildExports(
      const std::vector<rpc::ExportOptions>& exports) const;
  // Step 2: makes `table` the table in force for every call that starts
  // from now on (MOUNT, NFS, NLM). A removed export's handles become stale
  // and its MNT is refused; its held locks stay. Returns one line per
  // export added, removed or changed (empty: same exports).
  std::vector<std::string> ReplaceExports(rpc::ExportTable table);
  // The exports in force, as configured.
  std::vector<rpc::ExportOptions> Exports() const;
  // Names of the client hosts holding NLM locks (the NSM monitor list), and
  // the portmapper set up ("embedded", "system", ...): for the admin socket.
  std::vector<std::string> LockHosts() const;
  // The NLM client hosts (bound since start or monitored), for `clients`.
  std::vector<rpc::NlmHostInfo> NlmHosts() const;
  const std::string& portmapper_mode() const { return portmapper_mode_; }

 private:
  Status StartPortmapper(const std::vector<rpc::Mapping>& ours);

  Backend* backend_;
  std::unique_ptr<rpc::IoPool> pool_;
  std::unique_ptr<rpc::HandleCodec> codec_;
  std::unique_ptr<rpc::ExportRegistry> exports_;
  std::unique_ptr<rpc::Nfs3Program> nfs_;
  std::unique_ptr<rpc::MountProgram> mount_;
  std::unique_ptr<rpc::NsmState> nsm_state_;
  std::unique_ptr<rpc::NlmProgram> nlm_;
  std::unique_ptr<rpc::NsmProgram> nsm_;
  std::unique_ptr<rpc::Dispatcher> dispatcher_;
  std::unique_ptr<rpc::RpcServer> nfs_server_;
  std::unique_ptr<rpc::RpcServer> mount_server_;  // when mount_port is set
  rpc::PortmapRegistry registry_;
  std::unique_ptr<rpc::PortmapProgram> portmap_;
  std::unique_ptr<rpc::Dispatcher> portmap_dispatcher_;
  std::unique_ptr<rpc::RpcServer> portmap_server_;
  std::vector<rpc::Mapping> registered_with_system_;
  std::string portmapper_mode_;  // what was actually set up
};

}  // namespace concordfs
