// Text output of concordctl: aligned tables for people, made from the
// daemon's JSON responses (admin/protocol.h). `--json` prints the response
// itself instead. Pure functions of their arguments; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "admin/protocol.h"

namespace concordfs::admin {

// Columns left-aligned, two spaces apart, no trailing blanks; every row
// has as many cells as the header (missing cells are blank).
std::string FormatTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows);

// "0-99", "100-EOF", "7 (zero-length)" from a lock entry's first/last/
// zero_length fields.
std::string FormatRange(const Json& lock);

// "850ms", "12.3s", "5m03s", "2h01m", "3d04h".
std::string FormatAge(uint64_t ms);

// The table of a "locks" response (held locks, then waiters), or
// "no locks\n".
std::string FormatLocks(const Json& response);
// The table of a "clients" response (one row per NFS host, SMB session,
// local processes), or "no clients\n".
std::string FormatClients(const Json& response);
// Cells of one "clients" row: NSM ("3, monitored"), SECURITY ("signed,
// encrypted"), USER ("alice", "guest", "(anonymous)").
std::string FormatNsm(const Json& row);
std::string FormatSecurity(const Json& row);
std::string FormatUser(const Json& row);
// A "status" response as "key: value" lines and tables of exports/shares.
std::string FormatStatus(const Json& response);
// A "grace" response: one line.
std::string FormatGrace(const Json& response);
// A "release" response: one line.
std::string FormatRelease(const Json& response);

}  // namespace concordfs::admin
