#include "locking/conflict.h"

namespace concordfs::locking {

bool Conflicts(const Lock& h, const Lock& w) {
  if (h.mode == LockMode::kShared && w.mode == LockMode::kShared) return false;
  if (!Overlaps(h.range, w.range)) return false;
  if (h.owner.protocol == Protocol::kLocal &&
      w.owner.protocol == Protocol::kLocal &&
      (h.flavor == Flavor::kFlock) != (w.flavor == Flavor::kFlock)) {
    return false;
  }
  if (h.flavor == w.flavor && h.owner == w.owner) {
    if (h.flavor != Flavor::kWindows) return false;
    return !(h.mode == LockMode::kExclusive && w.mode == LockMode::kShared);
  }
  return true;
}

bool BlocksIo(const Lock& h, const Owner& owner, const Range& r, bool write) {
  if (!Overlaps(h.range, r)) return false;
  if (!write && h.mode == LockMode::kShared) return false;
  if (h.owner == owner && !(write && h.mode == LockMode::kShared)) return false;
  return true;
}

}  // namespace concordfs::locking
