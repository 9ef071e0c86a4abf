// Permission rules of the Linux kernel, as pure functions over an inode and a
// credential. No state; thread-safe.
#pragma once

#include "metadata/records.h"
#include "util/status.h"
#include "vfs/credential.h"

namespace concordfs {

// May `cred` access `inode` with `mask` (kMayRead|kMayWrite|kMayExec)?
// EACCES if not. Root passes read/write always, and execute when the inode
// is a directory or has any execute bit.
Status CheckAccess(const Inode& inode, const Credential& cred, int mask);

// Owner or root (chmod, explicit utimes, sticky overrides): EPERM if not.
Status CheckOwner(const Inode& inode, const Credential& cred);

// Removing or renaming `victim` out of directory `dir`: w+x on dir, plus the
// sticky-bit rule (EPERM). Does not check the victim's type.
Status CheckDelete(const Inode& dir, const Inode& victim,
                   const Credential& cred);

// Mode bits without the set-id bits a write or chown drops: setuid, and
// setgid when group-execute is set (else it marks mandatory locking).
uint32_t ModeWithoutSetId(uint32_t mode);

// Mode bits a write by `cred` leaves on a file: setuid is cleared, and
// setgid when group-execute is set, unless the writer is root.
uint32_t ModeAfterWrite(const Inode& inode, const Credential& cred);

// Mode bits after a chown of a non-directory (setuid cleared, setgid cleared
// when group-execute is set), for any caller.
uint32_t ModeAfterChown(const Inode& inode);

}  // namespace concordfs
