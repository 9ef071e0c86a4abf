// Value types of the lock manager: ranges, owners, flavours, modes, requests,
// held locks and results. Conversion from wire formats happens at each
// protocol's edge (see DESIGN.md "The lock model"); inside, every range is
// inclusive [first, last] with last == kToEof meaning "to end of file".
//
// Plain values; thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "util/clock.h"
#include "util/status.h"

namespace concordfs::locking {

using FileId = uint64_t;  // the inode id
inline constexpr uint64_t kToEof = UINT64_MAX;

enum class Protocol : uint8_t {
  kLocal = 1,  // FUSE: processes on this machine
  kNlm = 2,    // NFS clients via NLM
  kSmb = 3,    // SMB clients
  kAdmin = 4,  // the admin tool and tests standing in for a client
};
const char* ProtocolName(Protocol p);

enum class Flavor : uint8_t {
  kPosix = 1,    // fcntl / NLM: per owner, merge, split, convert
  kFlock = 2,    // flock: whole file, per open file
  kWindows = 3,  // SMB: per open, stacking, exact unlock
};
const char* FlavorName(Flavor f);

enum class LockMode : uint8_t { kShared = 1, kExclusive = 2 };

// An inclusive byte range. A zero-byte (SMB length 0) lock at offset X has
// `zero_length` set, first == X and last == X; it covers no byte but
// conflicts with a lock that contains X and starts before X (Windows rule).
struct Range {
  uint64_t first = 0;
  uint64_t last = kToEof;
  bool zero_length = false;

  static Range All() { return Range{}; }
  // POSIX/NLM: length 0 means to EOF. Nullopt if offset+length overflows.
  static std::optional<Range> FromPosix(uint64_t offset, uint64_t length);
  // SMB: length 0 is a zero-byte lock. Nullopt if offset+length overflows
  // 2^64 (STATUS_INVALID_LOCK_RANGE).
  static std::optional<Range> FromSmb(uint64_t offset, uint64_t length);
  // Length as POSIX reports it (0 = to EOF).
  uint64_t PosixLength() const;

  bool operator==(const Range&) const = default;
};

// True if the two ranges share a byte (with the zero-byte rule above).
bool Overlaps(const Range& a, const Range& b);

// Who holds or wants a lock. Identity is all four fields; front ends fill
// them per flavour: POSIX uses `owner` (lock_owner / NLM svid+oh) with
// open = 0; flock and Windows use `open` with empty `owner`.
struct Owner {
  Protocol protocol = Protocol::kLocal;
  uint64_t client = 0;  // host / session; 0 = this machine
  std::string owner;    // opaque owner bytes
  uint64_t open = 0;    // open file / SMB open

  bool operator==(const Owner&) const = default;
  // A compact printable form for logs and the admin CLI.
  std::string ToString() const;
};

struct OwnerHash {
  size_t operator()(const Owner& o) const;
};

struct LockRequest {
  FileId file = 0;
  Owner owner;
  Flavor flavor = Flavor::kPosix;
  LockMode mode = LockMode::kExclusive;
  Range range;
  uint32_t pid = 0;      // reported to others as the holder (pid / svid)
  bool durable = false;  // persist (NLM) before granting
  bool reclaim = false;  // a reclaim during grace (NLM reclaim=true)
};

// A held lock (or, for waiters, a wanted one).
struct Lock {
  Owner owner;
  Flavor flavor = Flavor::kPosix;
  LockMode mode = LockMode::kExclusive;
  Range range;
  uint32_t pid = 0;
  bool durable = false;
  bool restored = false;  // restored at start, not reclaimed yet
  NanoTime since = 0;     // when granted
};

enum class LockStatus : uint8_t {
  kGranted,
  kConflict,      // held by another owner (test: `holder` says who)
  kQueued,        // blocking request registered; the callback will answer
  kDeadlock,      // queueing would close a wait-for cycle
  kGrace,         // refused during grace (conflicts with an unreclaimed
                  // lock; in strict grace: any new lock)
  kNoResources,   // a configured limit was reached or persistence failed
  kCancelled,     // the waiter was cancelled (callbacks only)
  kInvalidRange,  // the range is malformed
  kNotFound,      // unlock of a Windows lock that does not exist exactly
};
const char* LockStatusName(LockStatus s);

struct LockResult {
  LockStatus status = LockStatus::kGranted;
  std::optional<Lock> holder;  // the conflicting lock (conflict / test)
  uint64_t waiter_id = 0;      // for kQueued: the id to cancel with
};

}  // namespace concordfs::locking
