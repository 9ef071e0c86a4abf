// The SMB server's shared state and the per-connection objects: sessions,
// tree connects and opens (MS-SMB2 3.3.1).
//
// Ownership: SmbServerState is owned by the SmbServer and outlives every
// connection; it borrows the Vfs. Sessions (shared by the connections a
// multichannel session is bound to), trees and opens (each held by one of
// the session's connections) are touched only from the serial executor
// those connections share, so they need no locks. FileStates (delete-pending,
// open counts shared by all connections) is internally locked.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "locking/lock_manager.h"
#include "locking/share_modes.h"
#include "metrics/metrics.h"
#include "smb/auth/authenticator.h"
#include "smb/core/durable.h"
#include "smb/core/name_cache.h"
#include "smb/core/notify_hub.h"
#include "smb/core/oplocks.h"
#include "smb/core/options.h"
#include "smb/crypto/smb_crypto.h"
#include "smb/dcerpc/pipe.h"
#include "vfs/vfs.h"

namespace concordfs::smb {

// Per-file state every open of the file shares, across connections.
class FileStates {
 public:
  struct Entry {
    uint32_t opens = 0;
    bool delete_pending = false;
  };
  void AddOpen(InodeId ino);
  // Returns true if this was the last open and the file is delete-pending
  // (the caller then removes the name).
  bool RemoveOpen(InodeId ino);
  bool DeletePending(InodeId ino) const;
  bool HasOpens(InodeId ino) const;
  void SetDeletePending(InodeId ino, bool pending);

 private:
  mutable std::mutex mu_;
  std::unordered_map<InodeId, Entry> files_;  // GUARDED_BY(mu_)
};

class SmbConnection;

// Every valid session, server-wide, and how to run something on the
// connection that owns it — for a session setup that names it as its
// PreviousSessionId (MS-SMB2 3.3.5.5.3: the old session ends, its durable
// opens wait for a reconnect), and for a multichannel binding (the
// connection itself, usable directly from a connection of the same group:
// see Transport::Group). Internally locked.
// What a binding attempt from any connection needs to check and answer
// (MS-SMB2 3.3.5.5: the global session table): fixed once the session is
// set up.
struct SessionBindInfo {
  uint16_t dialect = 0;
  SigningAlg alg = SigningAlg::kHmacSha256;
  Cipher cipher = Cipher::kNone;
  std::string signing_key;  // Session.SigningKey
};

class SessionDirectory {
 public:
  using Runner = std::function<void(std::function<void(SmbConnection*)>)>;
  using BindInfo = SessionBindInfo;
  void Add(uint64_t id, std::string user, Runner run,
           SmbConnection* conn = nullptr, const void* group = nullptr,
           BindInfo info = {});
  std::optional<BindInfo> Lookup(uint64_t id) const;
  void Remove(uint64_t id);
  // The runner of session `id` if `user` owns it.
  std::optional<Runner> Find(uint64_t id, const std::string& user) const;
  // The connection that set up session `id`, if it runs on `group` (not
  // null): the caller, on that group's queue, may use it directly.
  SmbConnection* FindInGroup(uint64_t id, const void* group) const;
  // The group (serial queue) of the connection that set up session `id`.
  const void* GroupOf(uint64_t id) const;

 private:
  struct Entry {
    std::string user;
    Runner run;
    SmbConnection* conn = nullptr;
    const void* group = nullptr;
    BindInfo info;
  };
  mutable std::mutex mu_;
  std::unordered_map<uint64_t, Entry> sessions_;  // GUARDED_BY(mu_)
};

// The connections of each client (by client GUID, 2.1+), in the order
// they were made: a lease belongs to its client, and its breaks go to the
// client's first connection (as Windows and Samba send them). Internally
// locked.
class ClientDirectory {
 public:
  using Runner = SessionDirectory::Runner;
  void Add(const std::string& guid, uint64_t conn, Runner run);
  void Remove(const std::string& guid, uint64_t conn);
  // The runner of the client's first live connection, if any.
  std::optional<std::pair<uint64_t, Runner>> First(
      const std::string& guid) const;

 private:
  mutable std::mutex mu_;
  // guid -> connection serial -> runner.
  std::unordered_map<std::string, std::map<uint64_t, Runner>>
      clients_;  // GUARDED_BY(mu_)
};

// The users and shares in force; replaced whole by a reload (SIGHUP).
struct ShareConfig {
  std::vector<SmbUser> users;
  std::vector<SmbShare> shares;
};

struct SmbServerState {
  // The settings at start. Users and shares may change later: read them
  // through Config(), not opts.users / opts.shares.
  SmbOptions opts;
  std::shared_ptr<const ShareConfig> Config() const;
  void SetConfig(std::shared_ptr<const ShareConfig> c);
  Vfs* vfs = nullptr;
  locking::ShareModeTable* shares = nullptr;  // borrowed; may be null in tests
  locking::LockManager* locks = nullptr;      // borrowed; null: no LOCK
  std::unique_ptr<NameCache> names;   // case-insensitive lookups; may be null
  std::unique_ptr<NotifyHub> notify;  // CHANGE_NOTIFY events; may be null
  std::unique_ptr<OplockTable> oplocks;  // null: no oplocks or leases
  char server_guid[16] = {};
  uint64_t start_time = 0;  // FILETIME
  uint64_t volume_serial = 0;
  std::atomic<uint64_t> next_session_id{1};
  std::atomic<uint64_t> next_file_id{1};
  // Async ids are unique server-wide: a wait started on one channel of a
  // session may be ended through another.
  std::atomic<uint64_t> next_async_id{1};
  FileStates files;
  SessionDirectory sessions;
  ClientDirectory clients;
  std::atomic<uint64_t> next_conn_serial{1};
  NanoTime volume_created = 0;
  // Declared last: destroyed first, while what its opens hold still is.
  std::unique_ptr<DurableTable> durable;  // null: no durable handles

 private:
  mutable std::mutex config_mu_;
  mutable std::shared_ptr<const ShareConfig> config_;  // GUARDED_BY(config_mu_)
};

struct SmbFileId {
  uint64_t persistent = 0;
  uint64_t volatile_id = 0;
  bool operator==(const SmbFileId&) const = default;
  bool is_related_placeholder() const {
    return persistent == ~0ULL && volatile_id == ~0ULL;
  }
};

struct Tree {
  uint32_t id = 0;
  std::shared_ptr<const ShareConfig> config;  // keeps `share` alive
  const SmbShare* share = nullptr;            // nullptr for IPC$
  bool ipc = false;
  InodeId root = kInvalidInode;
  bool read_only = false;
  bool encrypt = false;
  uint32_t maximal_access = 0;
};

struct Session {
  uint64_t id = 0;
  enum class State { kInProgress, kValid, kExpired } state = State::kInProgress;
  std::unique_ptr<Authenticator> auth;  // during SESSION_SETUP
  std::optional<SmbUser> user;          // nullopt: guest/anonymous
  bool guest = false;
  bool anonymous = false;
  OpContext ctx;  // credential the session's operations run as
  std::string session_key;
  SessionKeys keys;
  // How Session.SigningKey signs (the algorithm of the connection that set
  // the session up; a channel signs with its own).
  SigningAlg alg = SigningAlg::kHmacSha256;
  bool signing_required = false;
  bool encrypt = false;
  PreauthHash preauth;  // 3.1.1
  std::map<uint32_t, std::unique_ptr<Tree>> trees;
  uint32_t next_tree_id = 1;
  // The connections the session is bound to (multichannel), the one that
  // set it up first; all run on one serial queue (Transport::Group).
  std::vector<SmbConnection*> channels;
  NanoTime established = 0;  // Clock::Default() time of the setup's end
  metrics::GaugeHold live{metrics::Gauge::kSmbSessions};
};

struct Open {
  SmbFileId fid;
  uint64_t session_id = 0;
  uint32_t tree_id = 0;
  InodeId ino = kInvalidInode;
  InodeId parent = kInvalidInode;
  std::string name;  // last component ("" for the share root)
  std::string path;  // share-relative, backslash-separated
  bool is_dir = false;
  uint64_t vfs_handle = 0;        // 0: no data access
  bool share_registered = false;  // in the share-mode table
  uint32_t access = 0;            // granted access mask
  uint32_t share_access = 0;
  uint32_t create_options = 0;
  bool delete_on_close = false;
  uint64_t position = 0;
  uint32_t mode = 0;
  // Directory enumeration.
  std::string pattern;
  uint64_t dir_cookie = 0;
  bool dir_started = false;
  bool dir_done = false;
  std::unique_ptr<PipeEndpoint> pipe;
  std::vector<uint64_t> notify_async_ids;   // pending CHANGE_NOTIFY watches
  uint64_t notify_watch = 0;                // NotifyHub watch (0: none)
  uint32_t notify_out_len = 0;              // client's buffer for changes
  std::vector<NotifyChange> notify_buffer;  // changes nobody waited for yet
  std::vector<uint64_t> lock_async_ids;     // blocked LOCK requests
  bool oplock_registered = false;           // in the OplockTable
  std::string lease_id;  // client GUID + lease key when a lease was granted
  // Whose locks and share-mode entry these are: the session that opened
  // the file, kept when a durable open is reconnected to another session.
  uint64_t owner_session = 0;
  OpContext ctx;  // the opener's credential (delete-on-close after a drop)
  // Durable and resilient handles (MS-SMB2 3.3.1.10): kept for
  // `keep_ms` after the connection is lost, reconnected by DHnC/DH2C.
  uint8_t durable = 0;  // 0: no, 1: DHnQ (v1), 2: DH2Q (v2)
  bool resilient = false;
  uint32_t keep_ms = 0;
  std::string create_guid;  // v2: 16 bytes
  std::string client_guid;  // the opening connection's client GUID
  std::string user;         // who may reconnect ("" for anonymous)
  std::string share;        // the tree's share name
  // Lock sequence replay (MS-SMB2 3.3.5.14): the last sequence number
  // seen per bucket 1..64, 0xFF when none.
  uint8_t lock_sequence[64];
  Open() {
    std::fill(std::begin(lock_sequence), std::end(lock_sequence), 0xFF);
  }
};

// Releases what an open holds in the shared tables and the vfs (share
// mode, oplock/lease, byte-range locks, data handle, delete-on-close) —
// the part of a close that needs no connection.
void ReleaseOpen(SmbServerState* st, Open* o);

}  // namespace concordfs::smb
