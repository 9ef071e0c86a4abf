// The lock manager's persistence on the metadata store: durable locks under
// the 'K' keys, the boot epoch under 'E' and the run marker under 'R'
// (metadata/keys.h), so locks and metadata share one LevelDB and one sync
// policy. `locks.persist` chooses how an NLM lock record change is made
// durable relative to the reply:
//
// - written (default): Save() writes the change into LevelDB (its log
//   record reaches the kernel: write(2), no fsync) before it returns, so the
//   reply, sent after it, never precedes the record. A daemon crash (kill -9)
//   loses nothing. Under `sync: batch`/`always` a syncer thread makes the
//   change durable 10 ms after the first unsynced change (one
//   MetadataStore::SyncLog() per period at most, never on the reply path:
//   the LevelDB store fdatasyncs its log files, the current one and any
//   older one still present, from the syncer thread, outside LevelDB's
//   writer queue, so a lock call whose write arrives during that fsync
//   does not wait for it; only in the one period after LevelDB switched to
//   a new log file does SyncLog also do a synced LevelDB write, which
//   does). A host crash can lose the changes of those last ~10 ms. A
//   release (a record that becomes empty) is not written on the caller's
//   path: it goes into the store ahead of the next grant's write, in the
//   same batch, or with the syncer's pass, whichever comes first, so a
//   lock+unlock pair costs one store write. A crash can thus bring back a
//   lock released in the last ~10 ms; nobody reclaims it, and it is dropped
//   when grace ends (a lost release only delays others, never lets two
//   conflicting grants stand). Under `sync: none` (no syncer) releases are
//   written through like grants.
// - synced: Save() commits and (under `sync: batch`/`always`) fsyncs the
//   change before it returns (LevelDB groups concurrent synced writers); a
//   grant waits for its fsync. Nothing answered is lost, also when the host
//   crashes.
// - behind: Save() only queues the new record of each (file, owner) (a
//   later save of the same key replaces a queued one) and returns; one
//   writer thread, 10 ms after the first queued save, commits everything
//   queued as one batch (synced under `sync: batch`/`always` when it adds or
//   changes locks), then takes the next batch; a lock and its unlock within
//   one pause never reach the disk. Any crash, of the daemon or the host,
//   can lose the grants of the last ~10 ms.
//
// Because the last two can lose grants a client was answered for, the store
// keeps a run marker: the host's boot id (CurrentBootId), the persistence
// mode and sync policy of the run, and whether it stopped cleanly, written
// synced by NextEpoch() at start and by MarkCleanStop() at a clean stop. At
// the next start StrictGraceReason() says grace must be strict when the
// previous run did not stop cleanly and either wrote behind, or left writes
// unsynced (written, or any mode under `sync: none`) and the boot id changed
// (the host went down while the daemon ran). After a daemon-only crash or a
// clean stop grace is the ordinary one. Epoch and marker updates are synced
// at once; the NSM host list and state are not kept here (rpc/nsm).
//
// Thread-safe. The store's mutex is a leaf: held only to queue or swap the
// pending records or to arm the syncer, never across a metadata write. The
// metadata store must outlive the lock store.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "locking/lock_store.h"
#include "metadata/metadata_store.h"

namespace concordfs {

enum class LockPersist { kWritten, kSynced, kBehind };
const char* LockPersistName(LockPersist p);
bool ParseLockPersist(std::string_view s, LockPersist* out);

struct LockStoreOptions {
  LockPersist persist = LockPersist::kWritten;
  std::string boot_id;  // this host's, for the run marker (CurrentBootId)
};

// The run marker as stored under 'R'.
struct RunMarker {
  bool running = false;  // false: the run stopped cleanly
  LockPersist persist = LockPersist::kWritten;
  SyncPolicy sync = SyncPolicy::kBatch;
  std::string boot_id;
};
std::string EncodeRunMarker(const RunMarker& m);
bool DecodeRunMarker(std::string_view v, RunMarker* out);

// Why grace must be strict after a run that left `previous` (nullopt: no
// marker, a new store) on a host now booted as `boot_id`; empty if not.
std::string StrictGraceReasonFor(const std::optional<RunMarker>& previous,
                                 std::string_view boot_id);

// The host's boot id (/proc/sys/kernel/random/boot_id). For tests only, the
// environment variable CONCORDFS_BOOT_ID replaces it (a simulated reboot).
std::string CurrentBootId();

std::unique_ptr<locking::LockStore> NewMetadataLockStore(
    MetadataStore* md, LockStoreOptions opts = {});

}  // namespace concordfs
