#include "daemon/nfs_service.h"

#include <unistd.h>

#include <algorithm>
#include <thread>

#include "util/log.h"

namespace concordfs {

NfsService::~NfsService() { Stop(); }

Status NfsService::Start() {
  const Config& c = backend_->config();
  CFS_ASSIGN_OR_RETURN(std::string key, rpc::LoadOrCreateHandleKey(
                                            c.data_dir + "/nfs-handle.key"));
  codec_ = std::make_unique<rpc::HandleCodec>(std::move(key));
  {
    Result<rpc::ExportTable> t = BuildExports(c.nfs_exports);
    if (!t.ok()) return t.status();
    exports_ = std::make_unique<rpc::ExportRegistry>(std::move(*t));
  }
  rpc::Nfs3Options no;
  no.max_io = static_cast<uint32_t>(c.nfs_max_io);
  nfs_ = std::make_unique<rpc::Nfs3Program>(backend_->vfs(), exports_.get(),
                                            codec_.get(), no);
  nfs_->set_cache_breaks(backend_->cache_breaks());
  mount_ = std::make_unique<rpc::MountProgram>(backend_->vfs(), exports_.get(),
                                               codec_.get());
  CFS_ASSIGN_OR_RETURN(nsm_state_, rpc::NsmState::Open(c.data_dir));
  rpc::NlmOptions lo;
  // A grant waits for its record's fsync only with `locks.persist: synced`
  // under sync: batch/always. Otherwise (the record is written, not synced,
  // before the reply; or written behind; or nothing is synced) every NLM
  // call is answered on its connection's thread.
  lo.durable_grants = c.lock_persist == "synced" && c.sync != SyncPolicy::kNone;
  lo.granted_attempts = 5;
  lo.granted_timeout = std::chrono::milliseconds(
      std::max<uint64_t>(c.nfs_grant_timeout_ms / 5, 20));
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) == 0 && host[0] != '\0') {
    lo.server_name = host;
  }
  nlm_ = std::make_unique<rpc::NlmProgram>(
      backend_->vfs(), backend_->locks(), backend_->share_modes(),
      exports_.get(), codec_.get(), nsm_state_.get(), lo);
  nlm_->set_cache_breaks(backend_->cache_breaks());
  nsm_ = std::make_unique<rpc::NsmProgram>(nsm_state_.get(), nlm_.get());
  dispatcher_ = std::make_unique<rpc::Dispatcher>();
  dispatcher_->Register(nfs_.get());
  dispatcher_->Register(mount_.get());
  dispatcher_->Register(nlm_.get());
  dispatcher_->Register(nsm_.get());

  pool_ = std::make_unique<rpc::IoPool>(
      static_cast<int>(std::max(2u, std::thread::hardware_concurrency())),
      static_cast<int>(c.nfs_threads));
  pool_->Start();

  rpc::ServerOptions so;
  so.address = c.nfs_address;
  so.port = static_cast<uint16_t>(c.nfs_port);
  so.udp = c.nfs_udp;
  so.max_record_size = c.nfs_max_io + 64 * 1024;
  so.name = "nfs";
  // A client with one call at a time (an NLM lock loop, a single-threaded
  // application) waits for each reply; polling 50 us for its next call
  // spares the cross-CPU wakeup (tens of us on a VM). Bounded and adaptive
  // (rpc/server.h); a config key would be the next step.
  so.busy_poll = std::chrono::microseconds(50);
  nfs_server_ =
      std::make_unique<rpc::RpcServer>(pool_.get(), dispatcher_.get(), so);
  CFS_RETURN_IF_ERROR(nfs_server_->Listen());
  if (c.nfs_mount_port != 0 && c.nfs_mount_port != nfs_server_->port()) {
    so.port = static_cast<uint16_t>(c.nfs_mount_port);
    so.max_record_size = 64 * 1024;
    so.name = "mount";
    mount_server_ =
        std::make_unique<rpc::RpcServer>(pool_.get(), dispatcher_.get(), so);
    CFS_RETURN_IF_ERROR(mount_server_->Listen());
  }

  rpc::Peer self;
  rpc::Peer::Parse(c.nfs_address, 0, &self);
  std::vector<rpc::Mapping> ours;
  auto add = [&](uint32_t prog, uint32_t lo, uint32_t hi, uint16_t port) {
    for (uint32_t v = lo; v <= hi; ++v) {
      for (rpc::Transport t : {rpc::Transport::kTcp, rpc::Transport::kUdp}) {
        if (t == rpc::Transport::kUdp && !c.nfs_udp) continue;
        rpc::Peer at = self;
        at.port = port;
        ours.push_back({prog, v, rpc::NetId(t, self.family), rpc::MakeUaddr(at),
                        "concordfs"});
      }
    }
  };
  add(rpc::nfs3::kProgram, 3, 3, nfs_port());
  add(rpc::kMountProgram, 1, 3, mount_port());
  add(rpc::kNlmProgram, 1, 1, nfs_port());
  add(rpc::kNlmProgram, 3, 4, nfs_port());
  add(rpc::kNsmProgram, 1, 1, nfs_port());
  nlm_->SetUdpSender(
      [srv = nfs_server_.get()](const rpc::Peer& to, std::string msg) {
        srv->SendUdp(to, std::move(msg));
      });
  CFS_RETURN_IF_ERROR(StartPortmapper(ours));
  CFS_LOG_INFO_IN(LogComponent::kNsm,
                  "state {}; notifying {} host(s) that held locks",
                  nsm_state_->state(), nsm_state_->Hosts().size());
  nlm_->NotifyRestart();
  return Status::Ok();
}

Status NfsService::StartPortmapper(const std::vector<rpc::Mapping>& ours) {
  const Config& c = backend_->config();
  std::string mode = c.nfs_portmapper;
  if (mode == "off") {
    portmapper_mode_ = "off";
    return Status::Ok();
  }
  rpc::Peer rpcbind =
      rpc::Peer::Loopback(static_cast<uint16_t>(c.nfs_portmap_port));
  if (mode == "auto") {
    mode = rpc::RpcbindAnswers(rpcbind) ? "system" : "embedded";
  }
  if (mode == "system") {
    Status st = rpc::RegisterWithRpcbind(rpcbind, ours);
    if (!st.ok()) {
      return Status::Error(st.code(), "nfs: registering with the rpcbind at " +
                                          rpcbind.ToString() + ": " +
                                          st.message());
    }
    registered_with_system_ = ours;
    portmapper_mode_ =
        "registered with the system rpcbind at " + rpcbind.ToString();
    return Status::Ok();
  }
  // Embedded.
  for (const rpc::Mapping& m : ours) registry_.Set(m);
  portmap_ = std::make_unique<rpc::PortmapProgram>(&registry_);
  portmap_dispatcher_ = std::make_unique<rpc::Dispatcher>();
  portmap_dispatcher_->Register(portmap_.get());
  rpc::ServerOptions so;
  so.address = c.nfs_address;
  so.port = static_cast<uint16_t>(c.nfs_portmap_port);
  so.udp = true;
  so.max_record_size = 64 * 1024;
  so.name = "portmap";
  portmap_server_ = std::make_unique<rpc::RpcServer>(
      pool_.get(), portmap_dispatcher_.get(), so);
  Status st = portmap_server_->Listen();
  if (!st.ok()) {
    portmap_server_.reset();
    if (c.nfs_portmapper == "auto") {
      CFS_LOG_WARN(
          "{}; serving NFS without a portmapper (clients must name the "
          "ports: port={},mountport={})",
          st.message(), nfs_port(), mount_port());
      portmapper_mode_ =
          "none (port " + std::to_string(c.nfs_portmap_port) + " unavailable)";
      return Status::Ok();
    }
    return st;
  }
  rpc::Peer self;
  rpc::Peer::Parse(c.nfs_address, portmap_server_->port(), &self);
  for (uint32_t v = 2; v <= 4; ++v) {
    for (rpc::Transport t : {rpc::Transport::kTcp, rpc::Transport::kUdp}) {
      registry_.Set({rpc::kPortmapProgram, v, rpc::NetId(t, self.family),
                     rpc::MakeUaddr(self), "concordfs"});
    }
  }
  portmapper_mode_ = "embedded on " + self.ToString();
  return Status::Ok();
}

void NfsService::Stop() {
  if (!pool_) return;
  if (!registered_with_system_.empty()) {
    rpc::UnregisterWithRpcbind(rpc::Peer::Loopback(static_cast<uint16_t>(
                                   backend_->config().nfs_portmap_port)),
                               registered_with_system_);
    registered_with_system_.clear();
  }
  if (portmap_server_) portmap_server_->Stop();
  if (mount_server_) mount_server_->Stop();
  if (nfs_server_) nfs_server_->Stop();
  if (nlm_) nlm_->Stop();
  pool_->Stop();
  if (nsm_state_) nsm_state_->Close();
  portmap_server_.reset();
  mount_server_.reset();
  nfs_server_.reset();
  pool_.reset();
}

uint16_t NfsService::nfs_port() const {
  return nfs_server_ ? nfs_server_->port() : 0;
}
uint16_t NfsService::mount_port() const {
  return mount_server_ ? mount_server_->port() : nfs_port();
}
uint16_t NfsService::portmap_port() const {
  return portmap_server_ ? portmap_server_->port() : 0;
}

std::vector<std::string> NfsService::LockHosts() const {
  std::vector<std::string> out;
  if (!nsm_state_) return out;
  for (const auto& [name, peer] : nsm_state_->Hosts()) out.push_back(name);
  return out;
}

std::vector<rpc::NlmHostInfo> NfsService::NlmHosts() const {
  return nlm_ ? nlm_->Hosts() : std::vector<rpc::NlmHostInfo>{};
}

std::vector<std::string> NfsService::Describe() const {
  const Config& c = backend_->config();
  std::vector<std::string> out;
  out.push_back("NFSv3 on " + c.nfs_address + ":" + std::to_string(nfs_port()) +
                (c.nfs_udp ? " (TCP and UDP)" : " (TCP)") + ", MOUNT on port " +
                std::to_string(mount_port()));
  out.push_back("portmapper: " + portmapper_mode_);
  for (const rpc::Export& x : exports_->Current().exports()) {
    out.push_back("export " + rpc::DescribeExport(x));
  }
  return out;
}

Result<rpc::ExportTable> NfsService::BuildExports(
    const std::vector<rpc::ExportOptions>& exports) const {
  Result<rpc::ExportTable> t =
      rpc::ExportTable::Build(backend_->vfs(), exports);
  if (!t.ok()) return Status::Error(t.code(), "nfs: " + t.status().message());
  return t;
}

std::vector<std::string> NfsService::ReplaceExports(rpc::ExportTable table) {
  std::vector<std::string> changes =
      rpc::DescribeExportChanges(exports_->Current(), table);
  // An unchanged list keeps the table in force (the registry keeps every
  // table it was given, so only real changes add one).
  if (!changes.empty()) exports_->Replace(std::move(table));
  return changes;
}

std::vector<rpc::ExportOptions> NfsService::Exports() const {
  return exports_ ? exports_->Current().Options()
                  : std::vector<rpc::ExportOptions>{};
}

}  // namespace concordfs
