// The vocabulary shared by the SMB authentication code and its caller: the
// configured user record, the user lookup callback, the server's options and
// the NT status codes an exchange ends with.
//
// Plain values; thread-compatible. The lookup callback is called on the
// thread that drives the exchange.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smb/info/nt_status.h"  // the NT status values returned
#include "util/clock.h"

namespace concordfs::smb {

struct SmbUser {        // one configured user
  std::string name;     // as configured (matching is case-insensitive)
  std::string nt_hash;  // 16 raw bytes: MD4(UTF-16LE(password))
  uint32_t uid = 0, gid = 0;
  std::vector<uint32_t> groups;

  bool operator==(const SmbUser&) const = default;
};

// Returns the user by name (case-insensitive); domain is informational.
using UserLookup = std::function<std::optional<SmbUser>(
    std::string_view user, std::string_view domain)>;

struct AuthOptions {
  std::string netbios_name = "CONCORDFS";  // server's NetBIOS computer name
  std::string netbios_domain = "WORKGROUP";
  std::string dns_name = "localhost";
  std::string dns_domain = "";   // empty: dns_name is announced instead
  bool allow_anonymous = false;  // anonymous (null user, empty responses)
  // An NTLMv2 response whose timestamp is further than this from now is
  // refused (a replay of an old capture); 0 disables the check.
  int64_t max_clock_skew_seconds = 36 * 3600;
  // Source of "now" for the CHALLENGE timestamp and the skew check;
  // nullptr means Clock::Default(). Not owned.
  const Clock* clock = nullptr;
};

}  // namespace concordfs::smb
