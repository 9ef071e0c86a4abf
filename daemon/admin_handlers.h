// AdminHandler: the commands of the admin socket (`locks`, `clients`,
// `release`, `grace`, `status`), each a function from a request object to a
// response object (admin/protocol.h). It reads the lock manager's and share
// table's state through their own accessors (each takes only its own mutexes,
// briefly) and the metadata store for paths; it never touches a front end's
// threads. The pure pieces (lock entries, filters, client names) are
// exposed for unit tests.
//
// Borrows everything in AdminSources, which must outlive it. Handle() may
// be called from any thread; the daemon calls it from the admin thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "admin/protocol.h"
#include "locking/lock_manager.h"
#include "rpc/nlm/nlm.h"
#include "util/clock.h"

namespace concordfs {

class Backend;
class NfsService;
class SmbService;

struct AdminSources {
  Backend* backend = nullptr;
  NfsService* nfs = nullptr;  // nullptr when NFS is not served
  SmbService* smb = nullptr;  // nullptr when SMB is not served
  std::string mount_path;     // empty when nothing is mounted
  std::string socket_path;
  NanoTime started = 0;  // Clock::Default() time the daemon started
};

// The id the NLM server gives a client host (rpc/nlm names the host in lock
// owners with it).
using rpc::NlmClientId;

// How `locks` names clients: local processes "local", an NFS host by its
// name (from `nfs_hosts`) or "host:0x<id>", an SMB session "session:0x<id>".
std::string ClientLabel(locking::Protocol p, uint64_t client,
                        const std::map<uint64_t, std::string>& nfs_hosts);
// "local", "nfs", "smb" or "admin"; and back ("nlm" also means nfs).
std::string ProtocolLabel(locking::Protocol p);
bool ParseProtocolLabel(std::string_view s, locking::Protocol* out);

// One row of `locks`: a held lock or a waiter, as JSON.
admin::Json HeldEntry(const locking::LockInfo& l, NanoTime now,
                      const std::string& client, const std::string& path);
admin::Json WaiterEntry(const locking::WaiterInfo& w, NanoTime now,
                        const std::string& client, const std::string& path);

// `locks` filters; empty fields match everything. `path` matches the file
// or anything below a directory of that name; `client` matches the label,
// the numeric id (decimal or 0x-hex), the entry's address (with or without
// its port; `clients` rows have one) or, for NFS, a host name's id.
struct LockFilter {
  std::string path;
  std::string protocol;  // as given (validated by ParseLockFilter)
  std::string client;
};
Result<LockFilter> ParseLockFilter(const admin::Json& req);
bool MatchesLockFilter(const admin::Json& entry, const LockFilter& f);
// `clients` filters: protocol and client as for `locks`; no path.
Result<LockFilter> ParseClientFilter(const admin::Json& req);

class AdminHandler {
 public:
  explicit AdminHandler(AdminSources s) : s_(std::move(s)) {}
  // Parses one request line and runs it; malformed requests and failed
  // commands get an {"ok": false, "error": ...} response. Never throws.
  admin::Json Handle(std::string_view line);
  admin::Json Run(const admin::Json& req);

 private:
  admin::Json Locks(const admin::Json& req);
  admin::Json Clients(const admin::Json& req);
  admin::Json Release(const admin::Json& req);
  admin::Json Grace(const admin::Json& req);
  admin::Json Summary();
  // Every held lock and waiter, with client labels and paths.
  std::vector<admin::Json> AllEntries();
  std::map<uint64_t, std::string> NfsHosts() const;
  // Paths of `ids` found by walking the namespace from the root (the store
  // keeps no parent of a file); ids not found within the walk's bound are
  // left out.
  std::map<uint64_t, std::string> PathsOf(std::vector<uint64_t> ids);

  AdminSources s_;
};

}  // namespace concordfs
