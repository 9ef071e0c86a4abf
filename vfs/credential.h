// Who is asking: the caller identity every vfs operation is checked against,
// and the context (which front end) a change comes from.
//
// Front ends build these from their own identities: the FUSE request context,
// NFS AUTH_SYS (after squashing), the SMB session's mapped user. Plain values;
// thread-compatible.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace concordfs {

struct Credential {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> groups;  // supplementary groups

  bool is_root() const { return uid == 0; }
  bool InGroup(uint32_t g) const {
    return g == gid ||
           std::find(groups.begin(), groups.end(), g) != groups.end();
  }
  static Credential Root() { return Credential{}; }
};

// Which front end made a change, so it can skip invalidating its own caches.
enum class Origin : uint8_t {
  kInternal = 0,
  kFuse = 1,
  kNfs = 2,
  kSmb = 3,
};

struct OpContext {
  Credential cred;
  Origin origin = Origin::kInternal;
  // Handle-less reads and writes (NFS) by the file's owner skip the mode
  // check, as NFS servers do: a client that created a file with mode 0444
  // and an open for writing must still be able to write it.
  bool owner_override = false;
};

}  // namespace concordfs
