// Time conversion between the backend (NanoTime: ns since 1970, signed) and
// SMB (FILETIME: 100 ns intervals since 1601-01-01 UTC, unsigned 64-bit),
// and the special values SET_INFO gives time fields.
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>

#include "util/clock.h"

namespace concordfs::smb {

// 100 ns intervals between 1601-01-01 and 1970-01-01.
inline constexpr uint64_t kFiletimeUnixEpoch = 116444736000000000ULL;

// SET_INFO FileBasicInformation time fields (MS-FSCC 2.4.7):
// 0 leaves the time unchanged; -1 also stops the server from updating it
// for the rest of the handle's life; -2 resumes those updates. Values below
// -2 (as signed) are invalid.
inline constexpr uint64_t kFiletimeNoChange = 0;
inline constexpr uint64_t kFiletimeFreeze = UINT64_MAX;        // -1
inline constexpr uint64_t kFiletimeUnfreeze = UINT64_MAX - 1;  // -2

// Rounds down to 100 ns. Times before 1601 become 0 ("unknown" in a query).
uint64_t ToFiletime(NanoTime t);
// Exact for every value ToFiletime produces; values beyond the NanoTime range
// (before 1677, after 2262) saturate at INT64_MIN / INT64_MAX. Treat 0/-1/-2
// before calling when they mean "no change".
NanoTime FromFiletime(uint64_t ft);

}  // namespace concordfs::smb
