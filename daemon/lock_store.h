// The lock manager's persistence on the metadata store: durable locks under
// the 'K' keys and the boot epoch under 'E' (metadata/keys.h), so locks and
// metadata share one LevelDB and one sync policy. Saves are always synced.
// Thread-safe (the metadata store is).
#pragma once

#include <memory>

#include "locking/lock_store.h"
#include "metadata/metadata_store.h"

namespace concordfs {

std::unique_ptr<locking::LockStore> NewMetadataLockStore(MetadataStore* md);

}  // namespace concordfs
