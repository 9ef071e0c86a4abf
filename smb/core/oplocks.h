// OplockTable: SMB oplocks (level II, exclusive, batch) and leases (v1/v2,
// read/handle/write caching) on files, shared by every SMB connection, and
// the breaker other front ends reach through locking::CacheBreaks.
//
// Model: every SMB open of a regular file is registered here. A grant is
// either one open's oplock or one lease (client GUID + lease key) shared by
// the opens that name it; both are kept as lease-style R/H/W bits
// (level II = R, exclusive = RW, batch = RWH). Before a conflicting access
// (another SMB open, an SMB write or lock, a local or NFS access) the grants
// that conflict are broken: a break from a state with W or H (or an
// exclusive/batch oplock) waits for the client's acknowledgement or the
// break timeout; a break of read caching only is sent and not waited for.
// New grants are given only when safe: W only while no other open (SMB or
// any other protocol) exists and no other owner holds a byte-range lock.
//
// Ownership: owned by SmbServerState. Notifications go out through the
// BreakSender of the open that holds the grant (it posts to that
// connection's queue; it may be called after the connection ended and then
// drops the notice).
//
// Thread safety: all members are thread-safe (one mutex; no callback is
// called with it held). A timer thread ends breaks that time out.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "locking/cache_breaks.h"

namespace concordfs::smb {

inline constexpr uint8_t kOplockNone = 0x00;
inline constexpr uint8_t kOplockLevelII = 0x01;
inline constexpr uint8_t kOplockExclusive = 0x08;
inline constexpr uint8_t kOplockBatch = 0x09;
inline constexpr uint8_t kOplockLease = 0xFF;
inline constexpr uint32_t kLeaseRead = 0x1;
inline constexpr uint32_t kLeaseHandle = 0x2;
inline constexpr uint32_t kLeaseWrite = 0x4;
inline constexpr uint32_t kLeaseFlagBreakInProgress = 0x2;
inline constexpr uint32_t kLeaseFlagParentKeySet = 0x4;

// A break notification for one connection to send.
struct BreakNotice {
  bool lease = false;
  uint64_t session_id = 0;  // for encryption
  // Oplock break.
  uint64_t persistent = 0;
  uint64_t volatile_id = 0;
  uint8_t oplock_level = 0;
  // Lease break.
  std::string lease_key;  // 16 bytes
  uint32_t current = 0;
  uint32_t new_state = 0;
  uint16_t epoch = 0;  // v2 only
  bool ack_required = false;
};
using BreakSender = std::function<void(const BreakNotice&)>;

struct LeaseRequest {
  std::string key;  // 16 bytes
  uint32_t state = 0;
  uint16_t version = 1;    // 1: RqLs v1, 2: v2
  std::string parent_key;  // 16 bytes when set (v2)
  uint16_t epoch = 0;      // v2
};

// Opens that only read or set attributes (and, for leases, read the
// security descriptor) break no oplock or lease.
bool IsOplockStatOpen(uint32_t access);
bool IsLeaseStatOpen(uint32_t access);

// What a new open is about to do, to find what must be broken first.
struct OpenIntent {
  std::string lease_id;        // client GUID + lease key; empty: no lease
  uint32_t access = 0;         // access mask: an open that touches no data
                               // (a "stat open") breaks nothing
  bool overwrite = false;      // overwrite/supersede: read caching goes too
  bool break_handles = false;  // a sharing violation: handle caching goes
  bool deleting = false;       // delete-on-close: other opens' cached handles
                               // would keep the name alive, handle caching goes
};

struct GrantRequest {
  uint64_t file = 0;
  uint64_t open_id = 0;  // volatile id (unique server-wide)
  uint64_t persistent = 0;
  uint64_t session_id = 0;
  bool stat_open = false;
  uint8_t oplock = kOplockNone;  // requested level
  std::optional<LeaseRequest> lease;
  std::string client_guid;       // 16 bytes
  bool leasing = false;          // dialect 2.1+ (leases may be granted)
  bool foreign_opens = false;    // another protocol has the file open
  bool foreign_writers = false;  // ... for writing
  bool foreign_locks = false;    // another owner holds a byte-range lock
  BreakSender sender;
};

struct GrantResult {
  uint8_t oplock = kOplockNone;  // kOplockLease when a lease was processed
  bool lease = false;
  std::string lease_key;
  uint32_t lease_state = 0;
  uint32_t lease_flags = 0;
  uint16_t version = 1;
  uint16_t epoch = 0;
  std::string parent_key;
  uint32_t status = 0;  // non-zero: fail the open (lease key misuse)
};

class OplockTable : public locking::CacheBreaker {
 public:
  // `hub` (may be null) is told of grants coming and going.
  OplockTable(std::chrono::milliseconds break_timeout,
              locking::CacheBreaks* hub = nullptr);
  ~OplockTable() override;
  OplockTable(const OplockTable&) = delete;
  OplockTable& operator=(const OplockTable&) = delete;

  // Starts the breaks an open with `intent` needs on `file`. True: nothing
  // to wait for; false: `done` runs once they are acknowledged or timed out.
  bool BreakForOpen(uint64_t file, const OpenIntent& intent,
                    std::function<void()> done);
  // A rename of `file` through an open of the lease `lease_id` (empty:
  // none): other leases' handle caching goes first. True: nothing to wait
  // for; false: `done` runs when acknowledged or timed out.
  bool BreakForRename(uint64_t file, const std::string& lease_id,
                      std::function<void()> done);
  // Does anything other than the lease `lease_id` hold handle caching on
  // `file` (worth breaking before answering a sharing violation)?
  bool OthersHoldHandles(uint64_t file, const std::string& lease_id);
  // Registers a new open and grants what is safe of what it asked for.
  GrantResult Grant(const GrantRequest& req);
  // Is `lease_id` (client GUID + key) in use for a file other than `file`?
  bool LeaseKeyClash(const std::string& lease_id, uint64_t file);
  // The open is closed: its oplock ends; a lease ends with its last open.
  void Close(uint64_t file, uint64_t open_id);
  // An SMB write, size change or lock through `open_id`: read caching of
  // every other grant on the file goes (sent, not waited for).
  void BreakReadersForWrite(uint64_t file, uint64_t open_id);

  // Acknowledgements. Return an NTSTATUS; on success fill the reply's
  // level/state.
  uint32_t AckOplock(uint64_t open_id, uint8_t level, uint8_t* granted);
  uint32_t AckLease(const std::string& lease_id, uint32_t state);

  // The oplock level of an open (for tests and the admin view).
  uint8_t OplockOf(uint64_t open_id);
  // The current state of a lease (0 if none).
  uint32_t LeaseStateOf(const std::string& lease_id);
  // A lease as a CREATE response reports it (a durable reconnect).
  std::optional<GrantResult> LeaseOf(const std::string& lease_id);
  // The open now answers breaks through `sender` for `session_id` (a
  // durable open kept after its connection was lost, or reconnected).
  // *breaking (if given): a break of its grant is already under way.
  bool Rebind(uint64_t open_id, uint64_t session_id, BreakSender sender,
              bool* breaking = nullptr);

  // locking::CacheBreaker.
  // May any grant exist (one atomic load)?
  bool Active() const;
  bool Break(uint64_t file, locking::CacheAccess access,
             std::function<void()> done) override;

 private:
  struct Pending {
    uint32_t target = 0;
    std::function<void()> done;
  };
  struct Holder {
    uint64_t id = 0;
    bool is_lease = false;
    std::string lease_id;  // client GUID + key (lease)
    std::string lease_key;
    uint16_t version = 1;
    uint16_t epoch = 0;
    std::string parent_key;
    uint32_t state = 0;  // R/H/W
    bool breaking = false;
    uint32_t break_to = 0;  // what the client was told
    std::chrono::steady_clock::time_point deadline;
    // Requests waiting for this holder to come down to `target`, in the
    // order they came; `done` (may be empty) runs when it is reached.
    std::deque<Pending> queue;
    std::vector<uint64_t> opens;
  };
  struct OpenRec {
    uint64_t open_id = 0;
    uint64_t persistent = 0;
    uint64_t session_id = 0;
    bool stat_open = false;
    uint64_t holder = 0;  // 0: none
    std::string lease_id;
    BreakSender sender;
  };
  struct File {
    std::vector<OpenRec> opens;
    std::list<Holder> holders;
  };
  // Work to do after the mutex is released.
  struct Actions {
    std::vector<std::pair<BreakSender, BreakNotice>> notices;
    std::vector<std::function<void()>> done;
    void Run();
  };

  Holder* FindHolder(File& f, uint64_t holder_id);
  OpenRec* FindOpen(File& f, uint64_t open_id);
  // What `h` can be broken to on the way to `target`.
  static uint32_t NormalizeTarget(const Holder& h, uint32_t target);
  // Sends a break of `h` to `target`; true if an acknowledgement is
  // awaited (else `h` is at `target` now).
  // `chained`: it follows an acknowledged break of the same requests.
  bool StartBreakLocked(File& f, Holder& h, uint32_t target, Actions* a,
                        bool chained = false);
  // Lowers `h` towards `target` (a subset of its state). Returns true if
  // the caller must wait (then `waiter`, if set, is queued on `h`).
  bool BreakLocked(File& f, Holder& h, uint32_t target,
                   std::function<void()>* waiter, Actions* a);
  void SendBreakLocked(File& f, Holder& h, Actions* a);
  void FinishBreakLocked(File& f, Holder& h, uint32_t state, Actions* a);
  // What a holder in `state` (a lease or not) is broken to.
  using Target = std::function<uint32_t(uint32_t state, bool lease)>;
  // Breaks every holder on `file` (but the lease `except_lease`) to its
  // target; true if nothing is to wait for, else `done` runs when all the
  // breaks waited for are over. BreakAll takes the mutex and sends.
  // Only breaks of holders with caching in `wait_mask` are waited for.
  bool BreakAllLocked(uint64_t file, const std::string& except_lease,
                      const Target& target, std::function<void()> done,
                      Actions* a, uint32_t wait_mask = 0x7);
  bool BreakAll(uint64_t file, const std::string& except_lease,
                const Target& target, std::function<void()> done,
                uint32_t wait_mask = 0x7);  // R|H|W: every break
  void DropHolderIfUnusedLocked(File& f, uint64_t holder_id, Actions* a);
  void CloseLocked(uint64_t file, uint64_t open_id, Actions* a);
  void TimerLoop();
  void AddGrants(int delta);

  const std::chrono::milliseconds break_timeout_;
  locking::CacheBreaks* const hub_;
  mutable std::mutex mu_;
  std::condition_variable timer_cv_;
  bool stop_ = false;                         // GUARDED_BY(mu_)
  std::unordered_map<uint64_t, File> files_;  // GUARDED_BY(mu_)
  // lease id -> file it is for.
  std::unordered_map<std::string, uint64_t> leases_;  // GUARDED_BY(mu_)
  // open id -> file.
  std::unordered_map<uint64_t, uint64_t> open_files_;  // GUARDED_BY(mu_)
  uint64_t next_holder_ = 1;                           // GUARDED_BY(mu_)
  std::atomic<int64_t> grants_{0};  // holders (leases and oplocks)
  std::thread timer_;
};

}  // namespace concordfs::smb
