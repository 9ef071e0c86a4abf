#include "daemon/lock_store.h"

#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "metadata/keys.h"
#include "util/coding.h"
#include "util/log.h"

namespace concordfs {
namespace {

class MetadataLockStore : public locking::LockStore {
 public:
  MetadataLockStore(MetadataStore* md, bool write_behind)
      : md_(md), write_behind_(write_behind), writer_([this] {
          if (write_behind_) WriterLoop();
        }) {}

  ~MetadataLockStore() override {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    work_cv_.notify_one();
    writer_.join();  // the writer drains the queue before it exits
  }

  Status Save(const std::vector<locking::PersistedLocks>& changes) override {
    if (!write_behind_) {
      // Written through: committed (synced under sync: batch/always, where
      // LevelDB groups concurrent synced writers) before the caller
      // replies.
      Pending batch;
      for (const auto& c : changes) {
        std::string key = keys::TagPrefix(keys::kLockRecord) +
                          locking::EncodeOwnerKey(c.file, c.owner);
        std::optional<std::string> value;
        if (!c.locks.empty()) value = locking::EncodeLocks(c.locks);
        batch[std::move(key)] = std::move(value);
      }
      return Commit(batch);
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
    if (!write_behind_) return Status::Ok();
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
    ++epoch;
    std::string nv;
    PutU64(&nv, epoch);
    MetadataBatch b;
    b.Put(key, nv);
    CFS_RETURN_IF_ERROR(md_->Write(b));
    CFS_RETURN_IF_ERROR(md_->Sync());
    return epoch;
  }

 private:
  using Pending = std::unordered_map<std::string, std::optional<std::string>>;

  // How long the writer collects saves after the first one of a batch.
  static constexpr std::chrono::milliseconds kGather{10};

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
    // promises nothing across a crash, for locks as for everything else.
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
  const bool write_behind_;
  std::mutex mu_;
  std::condition_variable work_cv_;  // pending_ non-empty, or stop_
  std::condition_variable done_cv_;  // written_ advanced
  Pending pending_;                  // GUARDED_BY(mu_): key -> value/delete
  uint64_t queued_ = 0;              // GUARDED_BY(mu_): Save calls so far
  uint64_t written_ = 0;             // GUARDED_BY(mu_): of those, committed
  Status last_error_;                // GUARDED_BY(mu_)
  bool stop_ = false;                // GUARDED_BY(mu_)
  bool armed_ = false;               // GUARDED_BY(mu_): writer woken
  bool flush_ = false;               // GUARDED_BY(mu_): Flush() is waiting
  std::thread writer_;               // last: starts after the fields above
};

}  // namespace

std::unique_ptr<locking::LockStore> NewMetadataLockStore(MetadataStore* md,
                                                         bool write_behind) {
  return std::make_unique<MetadataLockStore>(md, write_behind);
}

}  // namespace concordfs
