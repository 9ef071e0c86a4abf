// The lock manager's persistence on the metadata store: durable locks under
// the 'K' keys and the boot epoch under 'E' (metadata/keys.h), so locks and
// metadata share one LevelDB and one sync policy.
//
// By default lock records are written through: Save() commits before it
// returns, so an NLM grant is persisted (synced under `sync: batch` /
// `always`) before its reply, as DESIGN.md requires.
//
// With `locks.write_behind: true` they are written behind: Save() only
// queues the new record of
// each (file, owner) (a later save of the same key replaces a queued one)
// and returns; one writer thread, 10 ms after the first queued save, commits
// everything queued as one batch, synced under `sync: batch`/`always` when
// it adds or changes locks, then takes the next batch. A grant is therefore
// on disk within 10 ms plus at most two store commits of the reply (one in
// progress plus its own: 0.2-1.5 ms each on the development machine, more
// while the disk is saturated), and always before the store is destroyed
// (clean stop). The pause bounds the commits (and fsyncs) to 100/s however
// busy the lock path is (at 200/s the fsyncs still cost a single client with
// one call in flight about a fifth of its pair rate); a LOCK and its UNLOCK
// within one pause cost none. What
// a crash loses is only locks granted in that window; their holders still get
// SM_NOTIFY (the NSM host list is written through before the first reply to a
// host) and reclaim them during grace. Epoch updates are synced at once.
//
// Thread-safe. The store's mutex is a leaf: held only to queue or swap the
// pending records, never across a metadata write. The metadata store must
// outlive the lock store.
#pragma once

#include <memory>

#include "locking/lock_store.h"
#include "metadata/metadata_store.h"

namespace concordfs {

std::unique_ptr<locking::LockStore> NewMetadataLockStore(
    MetadataStore* md, bool write_behind = false);

}  // namespace concordfs
