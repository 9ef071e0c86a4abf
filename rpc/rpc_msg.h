// ONC RPC version 2 messages (RFC 5531): the call header, AUTH_NONE and
// AUTH_SYS credentials, and every kind of reply (success, PROG_UNAVAIL,
// PROG_MISMATCH, PROC_UNAVAIL, GARBAGE_ARGS, SYSTEM_ERR, RPC_MISMATCH,
// AUTH_ERROR).
//
// ParseCall is a pure function from one record to a CallHeader or a
// decision (drop the record, or reply with a rejection); the reply writers
// append to a std::string. No state, no locks; fuzzed directly.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace concordfs::rpc {

inline constexpr uint32_t kRpcVersion = 2;
inline constexpr uint32_t kMsgCall = 0;
inline constexpr uint32_t kMsgReply = 1;

enum AuthFlavor : uint32_t {
  kAuthNone = 0,
  kAuthSys = 1,
  kAuthShort = 2,
  kAuthDh = 3,
  kRpcsecGss = 6,
};

enum class AcceptStat : uint32_t {
  kSuccess = 0,
  kProgUnavail = 1,
  kProgMismatch = 2,
  kProcUnavail = 3,
  kGarbageArgs = 4,
  kSystemErr = 5,
};

enum class AuthStat : uint32_t {
  kOk = 0,
  kBadCred = 1,
  kRejectedCred = 2,
  kBadVerf = 3,
  kRejectedVerf = 4,
  kTooWeak = 5,
};

// Limits from RFC 5531: opaque_auth bodies are at most 400 bytes; AUTH_SYS
// machine names at most 255 bytes and at most 16 supplementary groups.
inline constexpr uint32_t kMaxAuthBytes = 400;
inline constexpr uint32_t kMaxMachineName = 255;
inline constexpr uint32_t kMaxAuthSysGroups = 16;

struct AuthSys {
  uint32_t stamp = 0;
  std::string machine;
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> gids;
};

struct CallHeader {
  uint32_t xid = 0;
  uint32_t prog = 0;
  uint32_t vers = 0;
  uint32_t proc = 0;
  uint32_t flavor = kAuthNone;
  std::optional<AuthSys> sys;  // set when flavor == kAuthSys
  std::string_view args;       // the procedure's arguments (into the record)
};

// What to do with a record.
struct ParsedCall {
  enum class Kind {
    kCall,         // header is valid; dispatch it
    kDrop,         // not a call we can answer (a reply, or too short for an
                   // xid): ignore it (UDP) or close the connection (TCP)
    kRpcMismatch,  // reply MSG_DENIED/RPC_MISMATCH
    kAuthError,    // reply MSG_DENIED/AUTH_ERROR with `auth`
    kGarbage,      // header fields after the xid are malformed: GARBAGE_ARGS
  };
  Kind kind = Kind::kDrop;
  CallHeader header;
  AuthStat auth = AuthStat::kOk;
};

ParsedCall ParseCall(std::string_view record);

// Reply writers. Each appends a complete reply message to `out`.
// An accepted reply's header (through accept_stat SUCCESS); the procedure
// results follow.
void AppendAcceptedHeader(std::string* out, uint32_t xid, AcceptStat stat);
void AppendProgMismatch(std::string* out, uint32_t xid, uint32_t low,
                        uint32_t high);
void AppendRpcMismatch(std::string* out, uint32_t xid);
void AppendAuthError(std::string* out, uint32_t xid, AuthStat stat);

// Outbound side (the RPC client): a call header with AUTH_NONE or AUTH_SYS.
void AppendCallHeader(std::string* out, uint32_t xid, uint32_t prog,
                      uint32_t vers, uint32_t proc,
                      const AuthSys* cred = nullptr);

// Parses a reply to our call. On success returns the results; otherwise an
// error naming the rejection (as text).
struct ParsedReply {
  bool ok = false;
  uint32_t xid = 0;
  std::string error;         // when !ok
  std::string_view results;  // when ok
};
ParsedReply ParseReply(std::string_view record);

const char* AcceptStatName(AcceptStat s);

}  // namespace concordfs::rpc
