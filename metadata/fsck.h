// Consistency check (fsck) of a metadata store and its content store.
//
// CheckConsistency scans every key family of metadata/keys.h once, keeps
// per-inode counters in memory (~100 bytes per inode) and verifies the
// invariants the vfs maintains: superblock and root, entry/cookie twins,
// entry types, link counts, single parent and parent chains of directories,
// the orphan list, id high-water mark, symlink targets, xattrs and content.
// Orphans (nlink 0, unlinked while open before a crash) are legitimate and
// only counted. With repair it reclaims orphans, removes leaked content and
// dangling orphan keys; every other inconsistency is only reported, because
// fixing it needs a human decision.
//
// The functions borrow `md` and `content` (content may be null: content
// checks are then skipped). They are meant to run while no vfs is using the
// store: each key family is read from its own snapshot, so a store that is
// being changed concurrently gives a fuzzy view with spurious problems.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "metadata/content_store.h"
#include "metadata/metadata_store.h"
#include "util/status.h"

namespace concordfs {

struct FsckOptions {
  bool repair = false;
};

struct FsckReport {
  uint64_t inodes = 0, entries = 0, directories = 0, orphans = 0,
           content_files = 0;
  uint64_t orphans_reclaimed = 0, leaked_content_removed = 0,
           dangling_orphan_keys_removed = 0;
  // Human-readable, one per inconsistency, e.g.
  // "entry 5/'foo' -> missing inode 9".
  std::vector<std::string> problems;

  bool consistent() const { return problems.empty(); }
  // Multi-line text for the CLI (long problem lists are truncated).
  std::string Summary() const;
};

// Checks every invariant; see the file comment. Fails only when the stores
// cannot be read (or a repair cannot be written); inconsistencies are
// reported in the FsckReport. A problem fixed by repair is not listed in
// `problems` but counted in the *_reclaimed / *_removed fields.
Result<FsckReport> CheckConsistency(MetadataStore* md, ContentStore* content,
                                    const FsckOptions& opts);

// Reclaims every orphan whose inode has nlink 0 (the daemon calls this at
// start): removes its content, then deletes the inode, its xattrs, symlink
// target and orphan key in one batch. Orphan keys of missing inodes or of
// inodes with nlink > 0 are left alone (logged) for fsck to report. Returns
// how many orphans were reclaimed.
Result<uint64_t> ReclaimOrphans(MetadataStore* md, ContentStore* content);

// Removes one orphan for good: its content, then its inode, xattrs, symlink
// target and orphan key in one batch. The vfs calls it at last close;
// `durable` false is enough there because the orphan key already is.
Status ReclaimInode(MetadataStore* md, ContentStore* content, InodeId id,
                    bool durable);

}  // namespace concordfs
