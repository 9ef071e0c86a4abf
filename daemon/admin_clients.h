// The admin `clients` view: one row per client of the server — every NFS
// client host the NLM server knows (bound since start or on the NSM list)
// with its NSM state and lock counts, every SMB session (user, dialect,
// security, trees, opens, oplocks, leases, locks), and one row for local
// processes when they hold locks or open files. Rows are JSON objects
// (admin/protocol.h) built by pure functions from snapshots the caller
// takes (NlmProgram::Hosts, SmbServer::Sessions, the lock manager's and
// share table's listings); nothing here takes a lock or touches a front
// end. Thread-safe (no shared state).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "admin/protocol.h"
#include "locking/lock_manager.h"
#include "locking/share_modes.h"
#include "rpc/nlm/nlm.h"
#include "smb/core/server.h"

namespace concordfs {

// What the lock manager and the share-mode table hold for one client.
struct ClientCounts {
  uint64_t locks = 0;    // held byte-range locks
  uint64_t waiting = 0;  // blocked lock requests
  uint64_t opens = 0;    // share-table entries (NLM SHARE, local/SMB opens)
};

// (protocol, lock-manager client id): an NFS host's NlmClientId, an SMB
// session id, 0 for local processes.
using ClientKey = std::pair<locking::Protocol, uint64_t>;
using ClientCountMap = std::map<ClientKey, ClientCounts>;

ClientCountMap CountByClient(const std::vector<locking::LockInfo>& locks,
                             const std::vector<locking::WaiterInfo>& waiters,
                             const std::vector<locking::ShareEntry>& opens);

// One row each. `c` is the client's entry of CountByClient (zero if none).
admin::Json NfsClientRow(const rpc::NlmHostInfo& h, const ClientCounts& c);
admin::Json SmbClientRow(const smb::SmbSessionInfo& s, const ClientCounts& c);
// A client known only by what it holds: local processes, an NFS host or
// SMB session not (or no longer) listed by its front end. `label` as in
// `locks` (ClientLabel).
admin::Json HolderRow(locking::Protocol p, uint64_t id,
                      const std::string& label, const ClientCounts& c);

// Every row: NFS hosts, SMB sessions, then holders of locks, waiters or
// opens that neither list names (local processes included), ordered by
// protocol (nfs, smb, local, admin) then client name.
std::vector<admin::Json> ClientRows(
    const std::vector<rpc::NlmHostInfo>& hosts,
    const std::vector<smb::SmbSessionInfo>& sessions,
    const ClientCountMap& counts);

}  // namespace concordfs
