#include "daemon/lock_store.h"

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "metadata/keys.h"
#include "util/coding.h"
#include "util/log.h"

namespace concordfs {

const char* LockPersistName(LockPersist p) {
  switch (p) {
    case LockPersist::kWritten:
      return "written";
    case LockPersist::kSynced:
      return "synced";
    case LockPersist::kBehind:
      return "behind";
  }
  return "?";
}

bool ParseLockPersist(std::string_view s, LockPersist* out) {
  for (LockPersist p :
       {LockPersist::kWritten, LockPersist::kSynced, LockPersist::kBehind}) {
    if (s == LockPersistName(p)) {
      *out = p;
      return true;
    }
  }
  return false;
}

std::string EncodeRunMarker(const RunMarker& m) {
  std::string v;
  PutU8(&v, 1);  // format
  PutU8(&v, m.running ? 1 : 0);
  PutU8(&v, static_cast<uint8_t>(m.persist));
  PutU8(&v, static_cast<uint8_t>(m.sync));
  PutBytes(&v, m.boot_id);
  return v;
}

bool DecodeRunMarker(std::string_view v, RunMarker* out) {
  Decoder d(v);
  if (d.U8() != 1) return false;
  const uint8_t running = d.U8(), persist = d.U8(), sync = d.U8();
  std::string_view boot = d.Bytes();
  if (!d.done() || running > 1 ||
      persist > static_cast<uint8_t>(LockPersist::kBehind) ||
      sync > static_cast<uint8_t>(SyncPolicy::kNone)) {
    return false;
  }
  out->running = running == 1;
  out->persist = static_cast<LockPersist>(persist);
  out->sync = static_cast<SyncPolicy>(sync);
  out->boot_id = std::string(boot);
  return true;
}

std::string StrictGraceReasonFor(const std::optional<RunMarker>& previous,
                                 std::string_view boot_id) {
  if (!previous || !previous->running) return {};  // new store, clean stop
  const RunMarker& p = *previous;
  if (p.persist == LockPersist::kBehind) {
    return "the previous run did not stop cleanly and wrote lock records "
           "behind (locks.persist: behind): grants of its last ~10 ms may "
           "be lost";
  }
  const bool unsynced =
      p.persist == LockPersist::kWritten || p.sync == SyncPolicy::kNone;
  if (unsynced && p.boot_id != boot_id) {
    return "the host went down while the previous run was serving (boot id " +
           p.boot_id + " then, " + std::string(boot_id) +
           " now) and its lock records were not synced at once "
           "(locks.persist: " +
           LockPersistName(p.persist) + ", sync: " + SyncPolicyName(p.sync) +
           "): its last grants may be lost";
  }
  return {};
}

std::string CurrentBootId() {
  if (const char* e = std::getenv("CONCORDFS_BOOT_ID"); e && *e) return e;
  std::ifstream f("/proc/sys/kernel/random/boot_id");
  std::string id;
  std::getline(f, id);
  while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) id.pop_back();
  return id;
}

namespace {

class MetadataLockStore : public locking::LockStore {
 public:
  MetadataLockStore(MetadataStore* md, LockStoreOptions opts)
      : md_(md),
        opts_(std::move(opts)),
        syncs_(opts_.persist == LockPersist::kWritten &&
               md->sync_policy() != SyncPolicy::kNone),
        thread_([this] {
          if (opts_.persist == LockPersist::kBehind) WriterLoop();
          if (syncs_) SyncerLoop();
        }) {}

  ~MetadataLockStore() override {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    work_cv_.notify_one();
    thread_.join();  // the writer drains its queue, the syncer syncs
  }

  Status Save(const std::vector<locking::PersistedLocks>& changes) override {
    if (opts_.persist != LockPersist::kBehind) {
      bool grows = false;
      for (const auto& c : changes) grows |= !c.locks.empty();
      if (!grows && syncs_) {
        // `written`: a release is not written on the caller's path. It goes
        // into the store ahead of the next grant's own write, or with the
        // syncer's pass (kGather), whichever comes first: a lost release is
        // harmless (see Commit), and a lock+unlock pair costs one store
        // write instead of two.
        {
          std::lock_guard<std::mutex> l(mu_);
          for (const auto& c : changes) {
            deferred_.push_back(keys::TagPrefix(keys::kLockRecord) +
                                locking::EncodeOwnerKey(c.file, c.owner));
          }
          has_deferred_.store(true);
        }
        ArmSyncer();
        return Status::Ok();
      }
      // Written through before the caller replies: synced now (synced, by
      // LevelDB's group commit) or by the syncer within kGather (written).
      // Releases deferred before this save go first, in the same batch, so
      // a grant never reaches the store ahead of a release made before it.
      MetadataBatch b;
      if (syncs_ && has_deferred_.load()) TakeDeferred(&b);
      for (const auto& c : changes) {
        std::string key = keys::TagPrefix(keys::kLockRecord) +
                          locking::EncodeOwnerKey(c.file, c.owner);
        if (c.locks.empty()) {
          b.Delete(std::move(key));
        } else {
          b.Put(std::move(key), locking::EncodeLocks(c.locks));
        }
      }
      // Only a grant must reach the disk (see Commit).
      b.set_durable(grows);
      b.set_sync_deferred(opts_.persist == LockPersist::kWritten);
      CFS_RETURN_IF_ERROR(md_->Write(b));
      if (grows && syncs_) ArmSyncer();
      return Status::Ok();
    }
    {
      std::lock_guard<std::mutex> l(mu_);
      for (const auto& c : changes) {
        std::string key = keys::TagPrefix(keys::kLockRecord) +
                          locking::EncodeOwnerKey(c.file, c.owner);
        std::optional<std::string> value;
        if (!c.locks.empty()) value = locking::EncodeLocks(c.locks);
        pending_[std::move(key)] = std::move(value);
      }
      ++queued_;
      // The writer is woken once per batch: it gathers for kGather after
      // the first record, so a busy lock path costs no wakeup per save.
      if (armed_) return Status::Ok();
      armed_ = true;
    }
    work_cv_.notify_one();
    return Status::Ok();
  }

  Status Flush() override {
    if (opts_.persist == LockPersist::kWritten) {
      if (!syncs_) return Status::Ok();
      CFS_RETURN_IF_ERROR(WriteDeferred());
      // SyncLog covers every write that returned before it started.
      return md_->SyncLog();
    }
    if (opts_.persist != LockPersist::kBehind) return Status::Ok();
    std::unique_lock<std::mutex> l(mu_);
    const uint64_t target = queued_;
    if (written_ >= target) return last_error_;
    flush_ = true;  // ends the writer's gathering pause
    work_cv_.notify_one();
    done_cv_.wait(l, [&] { return written_ >= target; });
    return last_error_;
  }

  Status LoadAll(std::vector<locking::PersistedLocks>* out) override {
    CFS_RETURN_IF_ERROR(Flush());
    out->clear();
    std::string prefix = keys::TagPrefix(keys::kLockRecord);
    Status inner;
    CFS_RETURN_IF_ERROR(
        md_->Scan(prefix, prefix, [&](std::string_view k, std::string_view v) {
          locking::PersistedLocks p;
          inner = locking::DecodePersisted(k.substr(1), v, &p);
          if (!inner.ok()) return false;
          out->push_back(std::move(p));
          return true;
        }));
    return inner;
  }

  // Also reads the previous run's marker (for StrictGraceReason) and
  // records this run as running, in the epoch's synced batch.
  Result<uint64_t> NextEpoch() override {
    std::string key = keys::TagPrefix(keys::kLockEpoch);
    std::string v;
    uint64_t epoch = 0;
    Status st = md_->Get(key, &v);
    if (st.ok()) {
      Decoder d(v);
      epoch = d.U64();
      if (!d.done()) return Status::Corruption("lock epoch record");
    } else if (st.code() != ENOENT) {
      return st;
    }
    std::optional<RunMarker> previous;
    st = md_->Get(keys::TagPrefix(keys::kRunMarker), &v);
    if (st.ok()) {
      RunMarker m;
      if (!DecodeRunMarker(v, &m)) return Status::Corruption("run marker");
      previous = m;
    } else if (st.code() != ENOENT) {
      return st;
    }
    {
      std::lock_guard<std::mutex> l(mu_);
      strict_reason_ = StrictGraceReasonFor(previous, opts_.boot_id);
    }
    ++epoch;
    std::string nv;
    PutU64(&nv, epoch);
    MetadataBatch b;
    b.Put(key, nv);
    b.Put(keys::TagPrefix(keys::kRunMarker), EncodeRunMarker(Marker(true)));
    CFS_RETURN_IF_ERROR(md_->Write(b));
    CFS_RETURN_IF_ERROR(md_->Sync());  // also under sync: none
    return epoch;
  }

  std::string StrictGraceReason() override {
    std::lock_guard<std::mutex> l(mu_);
    return strict_reason_;
  }

  Status MarkCleanStop() override {
    CFS_RETURN_IF_ERROR(Flush());
    MetadataBatch b;
    b.Put(keys::TagPrefix(keys::kRunMarker), EncodeRunMarker(Marker(false)));
    CFS_RETURN_IF_ERROR(md_->Write(b));
    return md_->Sync();
  }

 private:
  using Pending = std::unordered_map<std::string, std::optional<std::string>>;

  // How long the writer collects saves after the first one of a batch, and
  // the syncer waits after the first unsynced write.
  static constexpr std::chrono::milliseconds kGather{10};

  RunMarker Marker(bool running) const {
    RunMarker m;
    m.running = running;
    m.persist = opts_.persist;
    m.sync = md_->sync_policy();
    m.boot_id = opts_.boot_id;
    return m;
  }

  // Called after a written-through grant's store write returned. The
  // flag is read without the mutex: only the first save after each sync
  // takes it. The syncer clears the flag before it syncs, so a write that
  // found the flag set completed before the clear and that sync covers it.
  void ArmSyncer() {
    if (sync_armed_.load()) return;
    {
      std::lock_guard<std::mutex> l(mu_);
      if (sync_armed_.load()) return;
      sync_armed_.store(true);
    }
    work_cv_.notify_one();
  }

  // Moves the deferred releases into `b` (ahead of what the caller adds).
  void TakeDeferred(MetadataBatch* b) {
    std::vector<std::string> keys;
    {
      std::lock_guard<std::mutex> l(mu_);
      keys.swap(deferred_);
      has_deferred_.store(false);
    }
    for (std::string& k : keys) b->Delete(std::move(k));
  }

  // Writes the deferred releases now (the syncer's pass, Flush).
  Status WriteDeferred() {
    if (!has_deferred_.load()) return Status::Ok();
    MetadataBatch b;
    TakeDeferred(&b);
    b.set_durable(false);
    b.set_sync_deferred(true);
    return md_->Write(b);
  }

  // Makes written-through lock records durable: kGather after the first
  // unsynced write, one SyncLog() (the LevelDB store fdatasyncs its log
  // files directly, so lock writes arriving meanwhile do not wait for the
  // disk; it covers every write that returned before it started), then
  // waits for the next one.
  void SyncerLoop() {
    std::unique_lock<std::mutex> l(mu_);
    for (;;) {
      work_cv_.wait(l, [&] { return stop_ || sync_armed_.load(); });
      if (!sync_armed_.load()) return;  // stopping, all synced
      work_cv_.wait_for(l, kGather, [&] { return stop_; });
      sync_armed_.store(false);
      l.unlock();
      Status st = WriteDeferred();
      if (st.ok()) st = md_->SyncLog();
      l.lock();
      if (!st.ok()) {
        CFS_LOG_ERROR("syncing durable locks failed (will retry): {}",
                      st.ToString());
        sync_armed_.store(true);
        if (stop_) return;
        work_cv_.wait_for(l, std::chrono::milliseconds(100),
                          [&] { return stop_; });
      }
    }
  }

  // Commits whatever is queued, one batch at a time, until stopped with
  // nothing left: it waits kGather after the first queued save (or less,
  // when Flush asks), then writes everything queued by then as one batch.
  // Saves that arrive during a commit form the next batch. A save is thus
  // committed within kGather plus at most two commits (the one in progress
  // and its own) after Save returns.
  void WriterLoop() {
    std::unique_lock<std::mutex> l(mu_);
    for (;;) {
      work_cv_.wait(l, [&] { return stop_ || !pending_.empty(); });
      if (pending_.empty()) return;  // stopping, all written
      work_cv_.wait_for(l, kGather, [&] { return stop_ || flush_; });
      Pending batch;
      batch.swap(pending_);
      armed_ = false;
      flush_ = false;
      const uint64_t through = queued_;
      l.unlock();
      Status st = Commit(batch);
      l.lock();
      if (!st.ok()) {
        // Keep the records (unless superseded meanwhile) and retry; a
        // failing store is not hammered.
        CFS_LOG_ERROR("writing durable locks failed (will retry): {}",
                      st.ToString());
        for (auto& [k, v] : batch) pending_.try_emplace(k, std::move(v));
        last_error_ = st;
        if (!stop_) {
          work_cv_.wait_for(l, std::chrono::milliseconds(100),
                            [&] { return stop_; });
        }
        if (stop_) {
          written_ = queued_;  // give up at stop: nothing more can be done
          done_cv_.notify_all();
          return;
        }
        continue;
      }
      last_error_ = Status::Ok();
      written_ = through;
      done_cv_.notify_all();
    }
  }

  Status Commit(const Pending& batch) {
    MetadataBatch b;
    // Only a grant must reach the disk: a lost unlock is harmless (the lock
    // comes back at restart, its owner does not reclaim it, and it is
    // dropped when grace ends). Under sync: batch a durable batch is
    // synced (grouped by LevelDB with concurrent synced writers); sync: none
    // promises nothing across a host crash, for locks as for everything
    // else.
    bool grows = false;
    for (const auto& [key, value] : batch) {
      if (value) {
        grows = true;
        b.Put(key, *value);
      } else {
        b.Delete(key);
      }
    }
    b.set_durable(grows);
    return md_->Write(b);
  }

  MetadataStore* md_;
  const LockStoreOptions opts_;
  const bool syncs_;  // written, with a sync policy that syncs: a syncer
  std::mutex mu_;
  std::condition_variable work_cv_;  // pending_ non-empty, armed, or stop_
  std::condition_variable done_cv_;  // written_ advanced
  Pending pending_;                  // GUARDED_BY(mu_): key -> value/delete
  uint64_t queued_ = 0;              // GUARDED_BY(mu_): Save calls so far
  uint64_t written_ = 0;             // GUARDED_BY(mu_): of those, committed
  Status last_error_;                // GUARDED_BY(mu_)
  bool stop_ = false;                // GUARDED_BY(mu_)
  bool armed_ = false;               // GUARDED_BY(mu_): writer woken
  bool flush_ = false;               // GUARDED_BY(mu_): Flush() is waiting
  // Written under mu_, read also without it (ArmSyncer's fast path): an
  // unsynced grant or a deferred release is waiting for the syncer.
  std::atomic<bool> sync_armed_{false};
  // `written` with a syncer: releases not yet in the store (record keys to
  // delete), in the order they were made; has_deferred_ mirrors
  // !deferred_.empty() for the grant path's lock-free check.
  std::vector<std::string> deferred_;  // GUARDED_BY(mu_)
  std::atomic<bool> has_deferred_{false};
  std::string strict_reason_;  // GUARDED_BY(mu_)
  std::thread thread_;         // last: starts after the fields above
};

}  // namespace

std::unique_ptr<locking::LockStore> NewMetadataLockStore(
    MetadataStore* md, LockStoreOptions opts) {
  return std::make_unique<MetadataLockStore>(md, std::move(opts));
}

}  // namespace concordfs
