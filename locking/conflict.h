// The one conflict function of the lock manager, across all flavours and
// protocols (DESIGN.md "The lock model"), and the SMB I/O rule. Pure
// functions; thread-safe.
#pragma once

#include "locking/lock_types.h"

namespace concordfs::locking {

// Does held lock `h` forbid granting `w`?
//  - both shared, or no common byte: no;
//  - a local flock and a local POSIX lock: no (Linux keeps them independent);
//  - same owner and flavour: POSIX/flock never (the request replaces or
//    converts); Windows only allows a shared lock on its own exclusive one;
//  - otherwise: yes.
bool Conflicts(const Lock& h, const Lock& w);

// Does held lock `h` forbid an SMB read/write of `r` by `owner`? Reads are
// stopped by other owners' exclusive locks; writes by any other owner's lock
// and by the owner's own shared lock.
bool BlocksIo(const Lock& h, const Owner& owner, const Range& r, bool write);

}  // namespace concordfs::locking
