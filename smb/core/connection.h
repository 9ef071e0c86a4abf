// SmbConnection: one client connection's SMB2 protocol engine — negotiate
// state, credits, sessions, trees and opens, compound requests, signing and
// encryption — independent of sockets so it can be tested with byte
// strings.
//
// Ownership: created by the SmbServer per TCP connection; borrows the
// SmbServerState; sends through the Transport it is given.
//
// Thread safety: OnMessage, OnDisconnect and posted completions must be
// called serially (the server runs them on a per-connection serial queue on
// the worker pool), and serially with those of every connection of the same
// Transport::Group (they share the queue: a multichannel session's
// channels reach each other's sessions and opens directly).
// Transport::Send may be called from there; it must be thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "smb/core/server.h"
#include "smb/core/smb2.h"
#include "smb/core/state.h"
#include "smb/info/ea.h"
#include "smb/info/sd_store.h"
#include "smb/wire/le.h"

namespace concordfs::smb {

locking::Owner ShareOwner(uint64_t session_id, uint64_t open_id);
// FILE_NOTIFY_INFORMATION list as a CHANGE_NOTIFY response body;
// STATUS_NOTIFY_ENUM_DIR (empty body) when it does not fit or a change
// could not be named.
uint32_t EncodeNotify(const std::vector<NotifyChange>& changes,
                      uint32_t out_len, std::string* body);
// A Windows-flavour lock request for `o` (SMB LOCK and the I/O checks).
locking::LockRequest SmbLockRequest(const Open& o, const locking::Range& range,
                                    bool exclusive);

class Transport {
 public:
  virtual ~Transport() = default;
  // Queues one SMB message (without the 4-byte session framing).
  virtual void Send(std::string message) = 0;
  // The same, for a message whose last `tail_len` bytes are in `tail` (READ
  // data): written with a gather write, without copying it into `head`.
  virtual void SendWithTail(std::string head, std::shared_ptr<char[]> tail,
                            size_t tail_len) {
    head.append(tail.get(), tail_len);
    Send(std::move(head));
  }
  // Closes the connection after queued messages are written.
  virtual void Close() = 0;
  // Runs `fn` later on this connection's serial queue (async completions).
  virtual void Post(std::function<void()> fn) = 0;
  // A function that posts like Post() and may outlive the connection (then
  // it drops what it is given): for callbacks from shared services.
  virtual std::function<void(std::function<void()>)> Poster() {
    return [this](std::function<void()> fn) { Post(std::move(fn)); };
  }
  // The serial queue this connection shares with its client's other
  // connections (multichannel), or nullptr: connections with the same
  // non-null group run serially with each other and may touch each other's
  // sessions and opens.
  virtual const void* Group() const { return nullptr; }
};

// One command of a (possibly compound) request, and its response.
struct Call {
  Smb2Header req;
  std::string_view msg;  // this element: header + body (+ padding)
  Session* session = nullptr;
  Tree* tree = nullptr;
  bool encrypted = false;
  // Response.
  uint32_t status = 0;
  std::string body;        // response body (after the header)
  std::string error_data;  // for error responses
  bool no_response = false;
  bool go_async = false;  // send STATUS_PENDING now; complete later
  SmbFileId created;      // CREATE: for related operations that follow
  // Bulk data that follows `body` on the wire (READ), kept apart so it can
  // be sent without a copy.
  std::shared_ptr<char[]> bulk;
  size_t bulk_len = 0;
  // CREATE or SET_INFO (rename) run again after waiting for oplock/lease
  // breaks: the async id its client already has, and which waits are
  // behind it.
  uint64_t retry_async_id = 0;
  uint32_t create_stage = 0;
  // More elements of the compound follow (they may use this CREATE's file).
  bool chain_continues = false;

  // Body reader helpers: offsets in SMB2 are from the header start.
  std::string_view body_in() const { return msg.substr(kSmb2HeaderSize); }
};

// A CREATE or SET_INFO run again after oplock/lease breaks: which waits
// are behind it (Call::create_stage bits; CREATE's own are in
// handlers_create.cc).
inline constexpr uint32_t kStageRenameBreaks = 4;

// What a CREATE asked of durability (MS-SMB2 2.2.13.2.3-2.2.13.2.12).
struct DurableAsk {
  bool v1 = false;         // DHnQ
  bool v2 = false;         // DH2Q
  bool reconnect = false;  // DHnC or DH2C
  bool reconnect_v2 = false;
  uint32_t timeout_ms = 0;  // DH2Q
  std::string create_guid;  // DH2Q / DH2C
  SmbFileId fid;            // DHnC / DH2C
};

class SmbConnection {
 public:
  SmbConnection(SmbServerState* state, Transport* transport, std::string peer);
  ~SmbConnection();

  // One message as received (without the 4-byte framing).
  void OnMessage(std::string_view message);
  // Same, for a frame buffer the connection may keep (no copy needed).
  void OnMessage(std::shared_ptr<char[]> frame, size_t len) {
    OnMessage(std::string_view(frame.get(), len));
  }
  // The TCP connection is gone: closes every open, ends sessions.
  void OnDisconnect();

  const std::string& peer() const { return peer_; }
  // The connection whose OnMessage runs on this thread (nullptr if none).
  static SmbConnection* Handling();
  // This connection's sessions for the admin view (run on its serial
  // queue, like OnMessage).
  void AppendSessions(std::vector<SmbSessionInfo>* out);

 private:
  friend class Handlers;
  struct Pending {
    uint64_t message_id = 0;
    uint64_t session_id = 0;
    uint16_t command = 0;
    std::function<void()> cancel;
    // Status to answer instead of CANCELLED when the wait ends because its
    // handle was closed (a LOCK then answers RANGE_NOT_LOCKED).
    uint32_t closed_status = 0;
    bool closed = false;
  };

  void HandleSmb1(std::string_view message);
  void HandleChain(std::string_view plain, bool encrypted,
                   uint64_t encrypted_session);
  void Dispatch(Call* c);
  enum class Charge { kOk, kTooSmall, kOutsideWindow };
  Charge ChargeCredits(const Smb2Header& h, size_t payload_len);
  uint16_t GrantCredits(const Smb2Header& h);
  void FinishElement(Call* c, Session* s, bool sign, std::string* out,
                     size_t element_start);
  void SendChain(std::string chain, Session* s, bool encrypt);
  Session* FindSession(uint64_t id);
  // The key that signs `s`'s messages on this connection.
  const std::string& SigningKey(const Session* s) const;
  // SESSION_SETUP with the binding flag: this connection becomes another
  // channel of a session of the same client (handlers_session.cc).
  void Bind(Call* c, std::string_view blob);
  // Registers a session set up here in the server's session directory.
  void Register(Session* s);
  // The open with this volatile id, held here or by another channel of one
  // of this connection's sessions; *holder (if given) gets its holder.
  Open* AnyOpen(uint64_t volatile_id, SmbConnection** holder = nullptr);
  // The connection (this one or another channel of its sessions) waiting
  // under `async_id`, or nullptr.
  SmbConnection* AsyncHolder(uint64_t async_id);
  // Every open of session `id`, on every channel.
  std::vector<Open*> SessionOpens(uint64_t id);
  // This connection is gone or the session logs off here: leaves the
  // session's channels. True if other channels remain (then this
  // connection's opens of it moved to one of them).
  bool LeaveSession(uint64_t id);
  bool ShouldSign(const Call& c, const Session* s) const;
  SigningAlg signing_alg() const;
  void CloseAllOpens(uint64_t session_id, uint32_t tree_id);

  // Handlers (handlers_*.cc).
  void Negotiate(Call* c);
  void SessionSetup(Call* c);
  void Logoff(Call* c);
  void TreeConnect(Call* c);
  void TreeDisconnect(Call* c);
  void Create(Call* c);
  // CREATE with DHnC/DH2C: takes a kept open back (handlers_create.cc).
  void Reconnect(Call* c, const DurableAsk& d,
                 const std::optional<LeaseRequest>& lease,
                 std::string_view raw_name);
  // The CREATE response body for `o` (and the contexts it answers).
  void CreateResponse(Call* c, const Open& o, const Attr& attr, uint8_t oplock,
                      uint32_t action, const std::string& ctx_buf);
  // A lost connection: keeps `o` for a reconnect if it is durable or
  // resilient and still may be; false if it must be closed.
  bool KeepForReconnect(Open* o);
  void Close(Call* c);
  void Flush(Call* c);
  void Read(Call* c);
  void Write(Call* c);
  void Ioctl(Call* c);
  void Echo(Call* c);
  void QueryDirectory(Call* c);
  void ChangeNotify(Call* c);
  void QueryInfo(Call* c);
  void SetInfo(Call* c);
  void Lock(Call* c);
  void OplockBreak(Call* c);
  void Cancel(const Smb2Header& h);

  // Helpers shared by the handlers.
  Open* FindOpen(Call* c, SmbFileId fid);
  // FindOpen, answering FILE_CLOSED when there is no such open.
  Open* OpenOrClosed(Call* c, SmbFileId fid);
  // Positions `r` after the body's StructureSize; false (and
  // INVALID_PARAMETER) if it is not `size`.
  bool StructureSizeIs(Call* c, LeReader* r, uint16_t size);
  SmbFileId ReadFileId(LeReader* r);
  uint32_t CloseOpen(Open* o);
  // A session reconnect named `id` as its previous session: it ends here
  // (its durable opens are kept for a reconnect, the rest closed).
  void ExpireSession(uint64_t id);
  void ExpirePrevious(uint64_t previous, const std::string& user);
  // Ends the open's pending CHANGE_NOTIFY and LOCK waits.
  void EndWaits(Open* o);
  bool HasOpensBelow(const Open* dir) const;
  // Would READ/WRITE of the range conflict with another owner's lock?
  bool IoLocked(const Open& o, uint64_t offset, uint64_t length, bool write);
  uint16_t PeekGrant(const Smb2Header& h) const;
  // The capabilities NEGOTIATE answers; kept in server_caps_ (repeated by
  // VALIDATE_NEGOTIATE, consulted per LOCK without recomputing).
  uint32_t ServerCapabilities() const;
  OpContext Ctx(const Session* s) const;
  // The file's EAs (its user.* xattrs), and applying an EA list to it.
  std::vector<Ea> LoadEas(const OpContext& ctx, InodeId ino);
  uint32_t ApplyEas(const OpContext& ctx, InodeId ino,
                    const std::vector<Ea>& eas);
  // The descriptor a client set (if still valid for the inode), the
  // session's SIDs, what it may do to `inode`, the descriptor to report,
  // and setting parts of one.
  std::optional<SdParts> StoredSd(const Inode& inode);
  std::vector<Sid> TokenSids(const Session* s) const;
  uint32_t SessionMaximalAccess(const Session* s, const Inode& inode);
  std::string QuerySd(const Inode& inode, uint32_t additional_info);
  uint32_t SetSd(Session* s, InodeId ino, std::string_view sd,
                 uint32_t additional_info, bool at_create = false);
  // Name lookup as SMB clients expect: case-insensitive, case-preserving.
  Result<Attr> LookupName(const OpContext& ctx, InodeId dir,
                          std::string_view name, std::string* stored = nullptr);
  void CompleteAsync(uint64_t async_id, uint32_t status, std::string body);
  // CREATE waiting for oplock/lease breaks: the callback that runs it
  // again at `next_stage` (under the async id it gets), and going (or
  // staying) asynchronous once a wait is needed.
  std::function<void()> RetryAfterBreaks(Call* c, uint32_t next_stage,
                                         uint64_t* async_id);
  void WaitForBreaks(Call* c, uint64_t async_id);
  void RetryCreate(uint64_t async_id, std::shared_ptr<std::string> msg,
                   uint64_t session_id, uint32_t tree_id, uint32_t stage);
  // Sends an oplock or lease break notification.
  void SendBreak(const BreakNotice& n);
  BreakSender MakeBreakSender();
  // An SMB write, size change or lock through `o`: other opens' read
  // caching goes.
  void BreakReaders(const Open& o);
  // A change reported for the watch of open `volatile_id`.
  void OnNotifyChange(uint64_t volatile_id, const NotifyChange& change);
  // Answers the open's oldest waiting CHANGE_NOTIFY with its buffered
  // changes, if both exist.
  void FlushNotify(Open* o);

  SmbServerState* st_;
  Transport* transport_;
  std::string peer_;

  // Negotiated state.
  bool negotiated_ = false;
  uint16_t dialect_ = 0;
  uint32_t server_caps_ = 0;  // as NEGOTIATE answered
  uint32_t client_caps_ = 0;
  uint16_t client_security_mode_ = 0;
  char client_guid_[16] = {};
  std::string client_dialects_;  // as sent, for VALIDATE_NEGOTIATE
  Cipher cipher_ = Cipher::kNone;
  SigningAlg signing_alg_ = SigningAlg::kHmacSha256;
  bool signing_alg_negotiated_ = false;
  PreauthHash conn_preauth_;

  // Credits: message ids in [seq_low_, seq_high_) may be used once.
  uint64_t seq_low_ = 0;
  uint64_t seq_high_ = 1;
  std::set<uint64_t> used_above_low_;

  uint64_t serial_ = 0;  // order of connections (ClientDirectory)
  bool in_client_directory_ = false;
  // Sessions set up here or bound here as another channel (shared with
  // their other channels).
  std::map<uint64_t, std::shared_ptr<Session>> sessions_;
  // Multichannel: the signing key of each session bound here as a further
  // channel (Channel.SigningKey), and bindings in progress.
  std::map<uint64_t, std::string> channel_keys_;
  struct Binding {
    std::shared_ptr<Session> session;
    std::unique_ptr<Authenticator> auth;
    PreauthHash preauth;  // 3.1.1: this connection's, then the legs
    SigningAlg alg = SigningAlg::kHmacSha256;  // the session's
  };
  std::map<uint64_t, Binding> binding_;
  // The session whose key signs the answer to the binding request being
  // handled (its legs and refusals, once the request proved the key).
  std::shared_ptr<Session> bind_reply_session_;
  const void* registered_group_ = nullptr;  // as the directory knows us
  // A refused binding answered with SMB2_FLAGS_SIGNED but no signature
  // (the dialects differ: no common way to sign).
  bool bind_flag_only_ = false;
  std::map<uint64_t, std::unique_ptr<Open>> opens_;  // by volatile id
  std::map<uint64_t, Pending> pending_;              // by async id
  bool closing_ = false;
};

}  // namespace concordfs::smb
