// The srvsvc interface (MS-SRVS) operations that share browsing needs:
// NetrShareEnum (opnum 15, "NetShareEnumAll"), NetrShareGetInfo (16) and
// NetrServerGetInfo (21). Each takes the NDR stub of a request and returns
// the NDR stub of the response, or a fault status for a request that cannot
// be decoded or an unknown opnum. Application errors (unknown share, level)
// travel in the operation's return value, as MS-SRVS specifies.
//
// Pure functions: the share list comes from the caller (the ShareLister is
// called once per share operation, so a reloaded configuration shows up on
// the next call). Thread-safe if the lister is.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace concordfs::smb {

// Share types (MS-SRVS 2.2.2.4).
inline constexpr uint32_t kStypeDisktree = 0x00000000;
inline constexpr uint32_t kStypeIpc = 0x00000003;
inline constexpr uint32_t kStypeSpecial = 0x80000000;

// Server type bits (MS-SRVS 2.2.2.7).
inline constexpr uint32_t kSvTypeWorkstation = 0x00000001;
inline constexpr uint32_t kSvTypeServer = 0x00000002;
inline constexpr uint32_t kSvTypeNt = 0x00001000;
inline constexpr uint32_t kSvTypeServerNt = 0x00008000;

// Return values (NET_API_STATUS / WERROR).
inline constexpr uint32_t kWerrOk = 0;
inline constexpr uint32_t kWerrMoreData = 0x000000ea;
inline constexpr uint32_t kWerrInvalidLevel = 0x0000007c;
inline constexpr uint32_t kWerrNetNameNotFound = 0x00000906;

inline constexpr uint16_t kOpNetrShareEnum = 15;
inline constexpr uint16_t kOpNetrShareGetInfo = 16;
inline constexpr uint16_t kOpNetrServerGetInfo = 21;

struct PipeShare {
  std::string name;
  // 0 = disk (kStypeDisktree), 0x80000003 = IPC$ (kStypeIpc|kStypeSpecial).
  uint32_t type = kStypeDisktree;
  std::string comment;
  // Reported by levels 2 and 502; a POSIX path "/srv/a" is shown the way
  // Windows tools expect, "C:\srv\a". Leave it empty to hide it (e.g. from
  // callers who are not administrators).
  std::string path;
};

struct PipeServerInfo {
  std::string server_name = "CONCORDFS";
  std::string comment = "concordfs";
  uint32_t version_major = 6, version_minor = 1;
  uint32_t server_type =
      kSvTypeWorkstation | kSvTypeServer | kSvTypeNt | kSvTypeServerNt;
};

// Called per request (shares may be reloaded). The list is reported as
// given: include IPC$ to have clients show it.
using ShareLister = std::function<std::vector<PipeShare>()>;

struct SrvsvcResult {
  uint32_t fault = 0;  // non-zero: send a FAULT with this status
  std::string stub;    // the response stub when fault == 0
};

// Runs opnum `opnum` of srvsvc on request stub `stub`.
SrvsvcResult SrvsvcCall(uint16_t opnum, std::string_view stub,
                        const ShareLister& shares, const PipeServerInfo& info);

// How a POSIX share path is shown to Windows clients ("/a/b" -> "C:\a\b").
std::string WindowsSharePath(std::string_view path);

}  // namespace concordfs::smb
