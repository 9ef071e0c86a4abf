#include "locking/lock_types.h"

#include <functional>

namespace concordfs::locking {

const char* ProtocolName(Protocol p) {
  switch (p) {
    case Protocol::kLocal:
      return "local";
    case Protocol::kNlm:
      return "nlm";
    case Protocol::kSmb:
      return "smb";
    case Protocol::kAdmin:
      return "admin";
  }
  return "?";
}

const char* FlavorName(Flavor f) {
  switch (f) {
    case Flavor::kPosix:
      return "posix";
    case Flavor::kFlock:
      return "flock";
    case Flavor::kWindows:
      return "windows";
  }
  return "?";
}

const char* LockStatusName(LockStatus s) {
  switch (s) {
    case LockStatus::kGranted:
      return "granted";
    case LockStatus::kConflict:
      return "conflict";
    case LockStatus::kQueued:
      return "queued";
    case LockStatus::kDeadlock:
      return "deadlock";
    case LockStatus::kGrace:
      return "grace";
    case LockStatus::kNoResources:
      return "no-resources";
    case LockStatus::kCancelled:
      return "cancelled";
    case LockStatus::kInvalidRange:
      return "invalid-range";
    case LockStatus::kNotFound:
      return "not-found";
  }
  return "?";
}

std::optional<Range> Range::FromPosix(uint64_t offset, uint64_t length) {
  if (length == 0) return Range{offset, kToEof, false};
  if (length - 1 > kToEof - offset) return std::nullopt;
  return Range{offset, offset + length - 1, false};
}

std::optional<Range> Range::FromSmb(uint64_t offset, uint64_t length) {
  if (length == 0) return Range{offset, offset, true};
  if (length - 1 > kToEof - offset) return std::nullopt;
  return Range{offset, offset + length - 1, false};
}

uint64_t Range::PosixLength() const {
  if (zero_length) return 0;  // not expressible; callers avoid it
  if (last == kToEof) return 0;
  return last - first + 1;
}

bool Overlaps(const Range& a, const Range& b) {
  if (a.zero_length && b.zero_length) return false;
  if (a.zero_length) return b.first < a.first && a.first <= b.last;
  if (b.zero_length) return a.first < b.first && b.first <= a.last;
  return a.first <= b.last && b.first <= a.last;
}

std::string Owner::ToString() const {
  std::string s = ProtocolName(protocol);
  s += ":" + std::to_string(client);
  if (!owner.empty()) {
    static const char* kHex = "0123456789abcdef";
    s += ":";
    for (unsigned char c : owner) {
      s += kHex[c >> 4];
      s += kHex[c & 15];
    }
  }
  if (open != 0) s += ":open" + std::to_string(open);
  return s;
}

size_t OwnerHash::operator()(const Owner& o) const {
  size_t h = std::hash<std::string>()(o.owner);
  h ^= std::hash<uint64_t>()(o.client) + 0x9e3779b97f4a7c15ULL + (h << 6);
  h ^= std::hash<uint64_t>()(o.open) + 0x9e3779b97f4a7c15ULL + (h << 6);
  return h ^ static_cast<size_t>(o.protocol);
}

}  // namespace concordfs::locking
