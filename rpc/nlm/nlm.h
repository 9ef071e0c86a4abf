// NlmProgram: the Network Lock Manager (program 100021, versions 1, 3 and
// 4) over the one lock manager, and NsmProgram: the status monitor
// (program 100024) that tells lock holders about restarts.
//
// NLM locks are POSIX-flavour, durable locks of owner (caller host, svid,
// oh bytes); the file comes from the NFS handle. Every conversion between
// lock-manager statuses and nlm_stats happens in one place (nlm.cc,
// StatOf). Blocking LOCKs are queued in the lock manager (the client hears
// BLOCKED); when the lock is granted, the server calls the client's NLM
// GRANTED (or GRANTED_MSG for clients using the asynchronous procedures),
// on the port the client's portmapper names, from a callback thread, with
// retries; a client that never takes the grant loses the lock. The _MSG
// procedures answer with the matching _RES call to the client's NLM
// service (over UDP, from the server's own socket).
//
// Hosts: a caller_name is bound to the address it first came from; calls
// naming it from elsewhere are refused, and FREE_ALL / SM_NOTIFY release a
// host's locks only when they come from that address.
//
// NSM: the server's state number is kept in data_dir (odd while running,
// larger at every start) together with the hosts that hold locks; at start
// every such host gets SM_NOTIFY so it reclaims during the grace period.
//
// Thread safety: programs are called on many threads; host tables have
// their own mutex; callbacks run on the callback threads (never a pool
// thread), and the lock manager's callbacks only enqueue work.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "locking/cache_breaks.h"
#include "locking/lock_manager.h"
#include "locking/share_modes.h"
#include "rpc/exports.h"
#include "rpc/file_handle.h"
#include "rpc/program.h"
#include "vfs/vfs.h"

namespace concordfs::rpc {

inline constexpr uint32_t kNlmProgram = 100021;
inline constexpr uint32_t kNsmProgram = 100024;

// A few threads that run blocking work (outbound callbacks) in order of
// submission. Stop() drains nothing: pending work is dropped.
// The lock-manager client id of an NLM caller name (its locks' Owner.client);
// the admin views map it back to a host name.
uint64_t NlmClientId(std::string_view caller);

class CallbackWorkers {
 public:
  explicit CallbackWorkers(int threads);
  ~CallbackWorkers();
  void Post(std::function<void()> fn);
  void Stop();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;  // GUARDED_BY(mu_)
  bool stop_ = false;                        // GUARDED_BY(mu_)
  std::vector<std::thread> threads_;
};

// NSM state: the state number and the hosts that hold NLM locks, kept in
// files under a directory.
class NsmState {
 public:
  // Reads `dir`/nsm-state and nsm-hosts, moves the state to the next odd
  // number and writes it back (durably) before serving.
  static Result<std::unique_ptr<NsmState>> Open(const std::string& dir);
  int32_t state() const { return state_; }
  // Records a host that holds locks (written through when new).
  void Monitor(const std::string& name, const Peer& addr);
  void Forget(const std::string& name);
  std::vector<std::pair<std::string, Peer>> Hosts() const;
  // Clean stop: the state becomes even (not running).
  void Close();
  // SM_SIMU_CRASH: a new (odd) state, as after a restart.
  int32_t Bump();

 private:
  Status SaveState();
  void SaveHostsLocked();
  std::string dir_;
  int32_t state_ = 1;
  mutable std::mutex mu_;
  std::map<std::string, Peer> hosts_;  // GUARDED_BY(mu_)
};

// One NLM client host as the admin `clients` view shows it.
struct NlmHostInfo {
  std::string name;        // caller_name
  std::string address;     // the address it is bound to ("" if unknown)
  bool bound = false;      // has called since this start (address bound)
  bool monitored = false;  // on the NSM list: told of our restarts
  // The client's NSM state number as its last LOCK gave it.
  std::optional<int32_t> nsm_state;
};

struct NlmOptions {
  std::string server_name = "concordfs";  // caller_name in our GRANTED calls
  // GRANTED callbacks: attempts and time per attempt before the grant is
  // taken back.
  int granted_attempts = 5;
  std::chrono::milliseconds granted_timeout{2000};
  // Where clients' portmappers listen (111; tests may change it).
  uint16_t client_portmap_port = 111;
  // Whether a grant waits for an fsync (sync: batch/always). If not, lock
  // calls never block and are answered on the connection's thread.
  bool durable_grants = true;
};

class NlmProgram : public RpcProgram {
 public:
  NlmProgram(Vfs* vfs, locking::LockManager* locks,
             locking::ShareModeTable* shares, const ExportRegistry* exports,
             const HandleCodec* codec, NsmState* nsm, NlmOptions opts = {});
  ~NlmProgram() override;
  // An NLM lock breaks SMB write caching of the file first (not waited
  // for: NLM has no way to ask the client to retry), so SMB clients send
  // their cached byte-range locks to the server.
  void set_cache_breaks(locking::CacheBreaks* b) { breaks_ = b; }
  uint32_t program() const override { return kNlmProgram; }
  uint32_t min_version() const override { return 1; }
  uint32_t max_version() const override { return 4; }
  const char* name() const override { return "nlm"; }
  HandlerResult Call(const CallContext& ctx, XdrDecoder& args,
                     std::string* out) override;
  bool NonIdempotent(uint32_t vers, uint32_t proc) const override;
  bool Quick(uint32_t vers, uint32_t proc) const override;

  // Sends a datagram from the server's own UDP socket (set by the daemon):
  // the _RES replies of the asynchronous procedures leave from there.
  void SetUdpSender(std::function<void(const Peer&, std::string)> send) {
    send_udp_ = std::move(send);
  }
  // Releases every lock and share of a host (SM_NOTIFY, FREE_ALL) if
  // `from` is the address the host is bound to. Returns locks released, or
  // -1 if refused.
  int64_t ReleaseHost(const std::string& name, const Peer& from);
  // Tells every monitored host that this server restarted (SM_NOTIFY to
  // its statd), on the callback threads.
  void NotifyRestart(uint32_t nsm_port_hint = 0);
  void Stop();
  // Every host bound since start or on the NSM list, sorted by name. Takes
  // mu_ and the NsmState's mutex briefly; callable from any thread.
  std::vector<NlmHostInfo> Hosts() const;

  struct Pending;  // a queued blocking lock (nlm.cc)
  struct Host;

 private:
  // Runs `proc` (a synchronous procedure number; the _MSG variants map to
  // it) and writes its results to `out`.
  HandlerResult Dispatch(const CallContext& ctx, uint32_t proc,
                         XdrDecoder& args, std::string* out);
  // On a callback thread: tells the client its blocked lock is granted;
  // takes the lock back if the client never accepts it.
  void SendGranted(const std::shared_ptr<Pending>& p);
  // A call whose answer we do not wait for (_RES, GRANTED_MSG).
  void SendOneWay(const Peer& to, Transport t, uint32_t vers, uint32_t proc,
                  const std::string& args, std::chrono::milliseconds timeout);

  Vfs* vfs_;
  locking::LockManager* locks_;
  locking::ShareModeTable* shares_;
  locking::CacheBreaks* breaks_ = nullptr;
  const ExportRegistry* exports_;
  const HandleCodec* codec_;
  NsmState* nsm_;
  NlmOptions opts_;
  std::function<void(const Peer&, std::string)> send_udp_;
  CallbackWorkers callbacks_{2};

  mutable std::mutex mu_;              // guards hosts_, states_, pending_
  std::map<std::string, Peer> hosts_;  // caller_name -> bound address
  // caller_name -> the client's NSM state, from its last LOCK.
  std::map<std::string, int32_t> states_;
  std::map<uint64_t, std::shared_ptr<Pending>> pending_;  // by waiter id
  // Grants sent with GRANTED_MSG, until the client's GRANTED_RES.
  std::map<uint64_t, locking::LockRequest> granted_msgs_;

  friend class NlmCall;
};

class NsmProgram : public RpcProgram {
 public:
  NsmProgram(NsmState* state, NlmProgram* nlm) : state_(state), nlm_(nlm) {}
  uint32_t program() const override { return kNsmProgram; }
  uint32_t min_version() const override { return 1; }
  uint32_t max_version() const override { return 1; }
  const char* name() const override { return "status"; }
  HandlerResult Call(const CallContext& ctx, XdrDecoder& args,
                     std::string* out) override;

 private:
  NsmState* state_;
  NlmProgram* nlm_;
  std::mutex mu_;
  // SM_MON registrations: mon_name -> (my_name, my_prog, my_vers, my_proc).
  std::map<std::string, std::vector<std::string>> monitors_;
};

}  // namespace concordfs::rpc
