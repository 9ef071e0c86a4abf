// DurableTable: SMB opens whose connection is gone but which are kept for
// a reconnect — durable handles (DHnQ/DH2Q) and resilient handles
// (FSCTL_LMR_REQUEST_RESILIENCY), MS-SMB2 3.3.7.1. A kept open still holds
// everything it held: its share-mode entry, oplock or lease, byte-range
// locks and data handle, so other clients see it as open until it is
// reconnected (DHnC/DH2C: Take), its timeout passes, or another client's
// access needs its caching broken (Purge: a disconnected client cannot
// acknowledge, so the open is closed and the access goes on).
//
// Ownership: owned by SmbServerState. Kept opens belong to the table until
// taken back; expired and purged ones are handed to the closer given at
// construction, outside the table's mutex.
//
// Thread safety: every method may be called from any thread. One timer
// thread ends expired opens.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace concordfs::smb {

struct Open;

class DurableTable {
 public:
  using Closer = std::function<void(std::unique_ptr<Open>)>;
  explicit DurableTable(Closer closer);
  // Closes what is still kept.
  ~DurableTable();
  DurableTable(const DurableTable&) = delete;
  DurableTable& operator=(const DurableTable&) = delete;

  // Keeps `o` (indexed by its persistent file id) for its keep_ms.
  void Keep(std::unique_ptr<Open> o);
  // A reconnect: the kept open with this persistent id if `accept` says
  // yes to it (it answers 0 or an NTSTATUS for the reconnect to fail with;
  // then the open stays kept). nullptr and *status set when there is none
  // (OBJECT_NAME_NOT_FOUND) or it was refused.
  std::unique_ptr<Open> Take(uint64_t persistent,
                             const std::function<uint32_t(const Open&)>& accept,
                             uint32_t* status);
  // Closes the kept open now (its caching must go). False if not kept.
  bool Purge(uint64_t persistent);
  // Closes every kept open of this client GUID whose create GUID is
  // `create_guid` (a new DH2Q open reusing it) — MS-SMB2 3.3.5.9.10.
  void PurgeCreateGuid(const std::string& client_guid,
                       const std::string& create_guid);
  size_t size() const;
  // For the admin view: user and client GUID of each kept open.
  struct KeptInfo {
    std::string user;
    std::string client_guid;
    uint64_t owner_session = 0;
  };
  std::vector<KeptInfo> Kept() const;

 private:
  struct Entry {
    std::unique_ptr<Open> open;
    std::chrono::steady_clock::time_point deadline;
  };
  void TimerLoop();

  const Closer closer_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<uint64_t, Entry> kept_;  // GUARDED_BY(mu_), by persistent id
  bool stop_ = false;               // GUARDED_BY(mu_)
  std::thread timer_;
};

}  // namespace concordfs::smb
