// Backend: the stores and the vfs the daemon serves, opened from a Config.
//
// Owns the metadata store, the content store and (once Start is called) the
// Vfs over them. Layout under data_dir: `metadata/` (LevelDB) and
// `content/` (one backing file per inode). Used by the daemon, by
// `concordfs fsck` and by test programs that need the real backend.
// Not thread-safe itself; the Vfs it hands out is.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "daemon/config.h"
#include "locking/cache_breaks.h"
#include "locking/lock_manager.h"
#include "locking/share_modes.h"
#include "metadata/content_store.h"
#include "metadata/metadata_store.h"
#include "vfs/vfs.h"

namespace concordfs {

class Backend {
 public:
  ~Backend();
  // Opens (creating if missing) the stores named by `config`. A second
  // process opening the same data_dir gets EBUSY.
  static Result<std::unique_ptr<Backend>> Open(const Config& config);

  // Initializes the store (root directory on first use), builds the Vfs,
  // reclaims files left unlinked-while-open by the previous run, and starts
  // the lock manager (restoring durable locks; grace if there were any).
  Status Start();
  // At a clean stop, after the front ends stopped: writes every lock record
  // and marks the run as stopped cleanly (daemon/lock_store.h).
  Status Stop();

  MetadataStore* metadata() { return md_.get(); }
  ContentStore* content() { return content_.get(); }
  Vfs* vfs() { return vfs_.get(); }
  locking::LockManager* locks() { return locks_.get(); }
  locking::ShareModeTable* share_modes() { return share_modes_.get(); }
  // Where front ends ask for SMB oplocks/leases to be broken.
  locking::CacheBreaks* cache_breaks() { return cache_breaks_.get(); }
  const Config& config() const { return config_; }

 private:
  explicit Backend(Config c) : config_(std::move(c)) {}
  Config config_;
  std::unique_ptr<MetadataStore> md_;
  std::unique_ptr<ContentStore> content_;
  std::unique_ptr<Vfs> vfs_;
  std::unique_ptr<locking::LockStore> lock_store_;
  std::unique_ptr<locking::LockManager> locks_;
  std::unique_ptr<locking::ShareModeTable> share_modes_;
  std::unique_ptr<locking::CacheBreaks> cache_breaks_;
  // Ends the grace period on time (see Start).
  std::mutex grace_mu_;
  std::condition_variable grace_cv_;
  bool stopping_ = false;  // GUARDED_BY(grace_mu_)
  std::thread grace_timer_;
};

}  // namespace concordfs
