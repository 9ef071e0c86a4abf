// SmbOptions: what the SMB server serves and how — listener, identity,
// users, shares and security requirements. Filled from the daemon's `smb:`
// config section; plain values.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "smb/auth/authenticator.h"

namespace concordfs::smb {

struct SmbShare {
  std::string name;        // as clients type it (matched case-insensitively)
  std::string path = "/";  // directory inside the backend
  std::string comment;
  bool read_only = false;
  std::vector<std::string> users;  // empty: every authenticated user
  bool encrypt = false;            // require encryption on this share

  bool operator==(const SmbShare&) const = default;
};

enum class SmbEncryption { kOff, kDesired, kRequired };

struct SmbOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 4450;  // 445 in lab mode
  std::string server_name = "CONCORDFS";
  std::string domain = "WORKGROUP";
  bool signing_required = false;
  // kDesired: sessions of clients that can encrypt are encrypted;
  // kRequired: clients that cannot are refused.
  SmbEncryption encryption = SmbEncryption::kOff;
  bool guest = false;  // anonymous/guest sessions (as guest_uid/gid)
  uint32_t guest_uid = 65534;
  uint32_t guest_gid = 65534;
  uint32_t max_io = 8 << 20;        // MaxReadSize / MaxWriteSize
  uint32_t max_transact = 1 << 20;  // MaxTransactSize
  uint32_t max_credits = 8192;      // per connection
  uint32_t umask = 022;             // applied to new files/directories
  // Oplocks and leases: granted when safe, broken before a conflicting
  // access from any protocol; a client that does not acknowledge a break
  // within the timeout loses its caching.
  bool oplocks = true;
  uint32_t oplock_break_timeout_ms = 35000;
  // Durable and resilient handles: an open with batch/handle caching that
  // asked to be durable, or a resilient one, outlives a lost connection
  // for this long (a durable v2 request's own timeout is capped at the
  // maximum), holding its locks, share mode and lease for a reconnect.
  // Multichannel (SMB 3.x): a client's second connection may bind to its
  // session (SMB2_GLOBAL_CAP_MULTI_CHANNEL).
  bool multichannel = true;
  bool durable_handles = true;
  uint32_t durable_timeout_ms = 60000;
  uint32_t max_durable_timeout_ms = 300000;
  uint32_t resilient_timeout_ms = 120000;
  uint32_t max_resilient_timeout_ms = 300000;
  std::vector<SmbUser> users;
  std::vector<SmbShare> shares;

  bool operator==(const SmbOptions&) const = default;
};

}  // namespace concordfs::smb
