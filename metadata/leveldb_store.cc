// The default metadata store: LevelDB in a local directory.
#include <leveldb/cache.h>
#include <leveldb/db.h>
#include <leveldb/filter_policy.h>
#include <leveldb/write_batch.h>

#include "metadata/metadata_store.h"
#include "metrics/metrics.h"

namespace concordfs {
namespace {

Status FromLevelDb(const leveldb::Status& s, std::string_view what) {
  if (s.ok()) return Status::Ok();
  std::string msg = std::string(what) + ": " + s.ToString();
  if (s.IsNotFound()) return Status::NotFound(msg);
  if (s.IsCorruption()) return Status::Corruption(msg);
  if (s.IsInvalidArgument()) return Status::Invalid(msg);
  if (s.IsNotSupportedError()) return Status::NotSupported(msg);
  // LevelDB reports ENOSPC and friends only as text in IOError.
  if (s.ToString().find("No space left") != std::string::npos) {
    return Status::Error(ENOSPC, msg);
  }
  return Status::Io(msg);
}

leveldb::Slice ToSlice(std::string_view s) {
  return leveldb::Slice(s.data(), s.size());
}
std::string_view ToView(const leveldb::Slice& s) {
  return std::string_view(s.data(), s.size());
}

class LevelDbStore : public MetadataStore {
 public:
  LevelDbStore(std::string dir, SyncPolicy policy)
      : dir_(std::move(dir)), policy_(policy) {}
  ~LevelDbStore() override {
    db_.reset();  // the DB must close before its cache and filter go
  }

  Status Open() {
    cache_.reset(leveldb::NewLRUCache(64 << 20));
    filter_.reset(leveldb::NewBloomFilterPolicy(10));
    leveldb::Options opts;
    opts.create_if_missing = true;
    opts.paranoid_checks = true;
    opts.block_cache = cache_.get();
    opts.filter_policy = filter_.get();
    opts.write_buffer_size = 16 << 20;
    leveldb::DB* db = nullptr;
    CFS_RETURN_IF_ERROR(
        FromLevelDb(leveldb::DB::Open(opts, dir_, &db), "open " + dir_));
    db_.reset(db);
    return Status::Ok();
  }

  Status Get(std::string_view key, std::string* value) override {
    return FromLevelDb(db_->Get(leveldb::ReadOptions(), ToSlice(key), value),
                       "get");
  }

  Status Scan(std::string_view prefix, std::string_view start,
              const std::function<bool(std::string_view, std::string_view)>& fn)
      override {
    leveldb::ReadOptions ro;
    ro.fill_cache = true;
    std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(ro));
    for (it->Seek(ToSlice(start)); it->Valid(); it->Next()) {
      std::string_view key = ToView(it->key());
      if (key.substr(0, prefix.size()) != prefix) break;
      if (!fn(key, ToView(it->value()))) break;
    }
    return FromLevelDb(it->status(), "scan");
  }

  Status Write(const MetadataBatch& batch) override {
    leveldb::WriteBatch wb;
    for (const auto& op : batch.ops()) {
      if (op.value) {
        wb.Put(op.key, *op.value);
      } else {
        wb.Delete(op.key);
      }
    }
    leveldb::WriteOptions wo;
    // Concurrent synced writers are merged by LevelDB into one log append
    // and one fsync (its writer queue), which is our group commit.
    wo.sync = !batch.sync_deferred() &&
              (policy_ == SyncPolicy::kAlways ||
               (policy_ == SyncPolicy::kBatch && batch.durable()));
    if (!wo.sync) return FromLevelDb(db_->Write(wo, &wb), "write");
    return SyncedWrite(wo, &wb, "write");
  }

  Status Sync() override {
    // An empty synced batch forces the log to disk.
    leveldb::WriteBatch wb;
    leveldb::WriteOptions wo;
    wo.sync = true;
    return SyncedWrite(wo, &wb, "sync");
  }

  // A synced write, timed: the store_sync latency (one group commit; a
  // writer that joins another's commit waits for that commit's fsync).
  Status SyncedWrite(const leveldb::WriteOptions& wo, leveldb::WriteBatch* wb,
                     const char* what) {
    const bool timed = metrics::Enabled();
    const uint64_t start = timed ? metrics::MonotonicNanos() : 0;
    Status st = FromLevelDb(db_->Write(wo, wb), what);
    if (timed) metrics::ObserveStoreSync(metrics::MonotonicNanos() - start);
    return st;
  }

  SyncPolicy sync_policy() const override { return policy_; }
  std::string Describe() const override { return "leveldb:" + dir_; }

 private:
  std::string dir_;
  SyncPolicy policy_;
  std::unique_ptr<leveldb::Cache> cache_;
  std::unique_ptr<const leveldb::FilterPolicy> filter_;
  std::unique_ptr<leveldb::DB> db_;
};

}  // namespace

Result<std::unique_ptr<MetadataStore>> OpenLevelDbStore(const std::string& dir,
                                                        SyncPolicy policy) {
  auto store = std::make_unique<LevelDbStore>(dir, policy);
  CFS_RETURN_IF_ERROR(store->Open());
  return std::unique_ptr<MetadataStore>(std::move(store));
}

}  // namespace concordfs
