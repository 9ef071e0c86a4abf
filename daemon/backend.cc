#include "daemon/backend.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "daemon/lock_store.h"
#include "util/log.h"

namespace concordfs {

Result<std::unique_ptr<Backend>> Backend::Open(const Config& config) {
  std::unique_ptr<Backend> b(new Backend(config));
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) {
    return Status::Error(ec.value(), "cannot create data_dir " +
                                         config.data_dir + ": " + ec.message());
  }
  if (config.store == "memory") {
    b->md_ = NewMemoryStore();
    b->content_ = NewMemoryContentStore();
    return b;
  }
  Result<std::unique_ptr<MetadataStore>> md =
      OpenLevelDbStore(config.data_dir + "/metadata", config.sync);
  if (!md.ok()) {
    // LevelDB reports a held LOCK file as a plain I/O error.
    if (md.status().message().find("lock") != std::string::npos) {
      return Status::Error(EBUSY, "data_dir " + config.data_dir +
                                      " is in use by another process (" +
                                      md.status().message() + ")");
    }
    return md.status();
  }
  b->md_ = std::move(md).value();
  CFS_ASSIGN_OR_RETURN(b->content_,
                       OpenLocalContentStore(config.data_dir + "/content",
                                             config.sync == SyncPolicy::kAlways,
                                             config.max_open_fds));
  return b;
}

Status Backend::Start() {
  CFS_RETURN_IF_ERROR(
      md_->Initialize(config_.root_uid, config_.root_gid, config_.root_mode));
  VfsOptions opts;
  if (!ParseAtimePolicy(config_.atime, &opts.atime)) {
    return Status::Invalid("atime policy " + config_.atime);
  }
  vfs_ = std::make_unique<Vfs>(md_.get(), content_.get(), opts);
  CFS_ASSIGN_OR_RETURN(uint64_t reclaimed, vfs_->Recover());
  (void)reclaimed;  // Recover logs it

  locking::LockManagerOptions lo;
  lo.grace_period =
      static_cast<NanoTime>(config_.lock_grace_seconds) * kNanosPerSecond;
  lo.limits.per_file = config_.lock_max_per_file;
  lo.limits.per_client = config_.lock_max_per_client;
  lo.limits.total = config_.lock_max_total;
  if (config_.store != "memory") {
    LockStoreOptions so;
    if (!ParseLockPersist(config_.lock_persist, &so.persist)) {
      return Status::Invalid("locks.persist " + config_.lock_persist);
    }
    so.boot_id = CurrentBootId();
    if (so.boot_id.empty()) {
      CFS_LOG_WARN(
          "lock store: no boot id (/proc/sys/kernel/random/boot_id): a host "
          "crash cannot be told from a daemon crash at the next start");
    }
    lock_store_ = NewMetadataLockStore(md_.get(), std::move(so));
    lo.store = lock_store_.get();
  }
  locks_ = std::make_unique<locking::LockManager>(lo);
  CFS_RETURN_IF_ERROR(locks_->Start());
  share_modes_ = std::make_unique<locking::ShareModeTable>();
  cache_breaks_ = std::make_unique<locking::CacheBreaks>();
  if (locks_->InGrace()) {
    // Grace ends at a time, not only at the next lock call: wake whoever
    // waits behind unreclaimed locks when it does.
    grace_timer_ = std::thread([this] {
      std::unique_lock<std::mutex> lk(grace_mu_);
      for (;;) {
        NanoTime end = locks_->GraceEnd();
        if (end == 0 || stopping_) return;
        NanoTime now = Clock::Default()->Now();
        auto wait = std::chrono::nanoseconds(std::max<NanoTime>(end - now, 0)) +
                    std::chrono::milliseconds(1);
        grace_cv_.wait_for(lk, wait, [this] { return stopping_; });
        if (stopping_) return;
        lk.unlock();
        bool still = locks_->InGrace();
        lk.lock();
        if (!still) {
          CFS_LOG_INFO("lock manager: grace period over");
          return;
        }
      }
    });
  }
  return Status::Ok();
}

Status Backend::Stop() {
  if (!lock_store_) return Status::Ok();
  return lock_store_->MarkCleanStop();
}

Backend::~Backend() {
  {
    std::lock_guard<std::mutex> lk(grace_mu_);
    stopping_ = true;
  }
  grace_cv_.notify_all();
  if (grace_timer_.joinable()) grace_timer_.join();
}

}  // namespace concordfs
