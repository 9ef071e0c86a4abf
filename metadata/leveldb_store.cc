// The default metadata store: LevelDB in a local directory.
#include <dirent.h>
#include <fcntl.h>
#include <leveldb/cache.h>
#include <leveldb/db.h>
#include <leveldb/filter_policy.h>
#include <leveldb/write_batch.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <vector>

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
  LevelDbStore(std::string dir, SyncPolicy policy, LevelDbStoreOptions opts)
      : dir_(std::move(dir)), policy_(policy), opts_(std::move(opts)) {}
  ~LevelDbStore() override {
    db_.reset();  // the DB must close before its cache and filter go
    for (auto& [number, fd] : log_fds_) ::close(fd);
  }

  Status Open() {
    cache_.reset(leveldb::NewLRUCache(64 << 20));
    filter_.reset(leveldb::NewBloomFilterPolicy(10));
    leveldb::Options opts;
    opts.create_if_missing = true;
    opts.paranoid_checks = true;
    opts.block_cache = cache_.get();
    opts.filter_policy = filter_.get();
    opts.write_buffer_size = opts_.write_buffer_size;
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

  // Syncs LevelDB's log files from outside LevelDB: fdatasync on our own
  // fd of each `<number>.log` file in the directory (fdatasync flushes the
  // inode's dirty pages whichever fd wrote them), so writers keep appending
  // to the log meanwhile; a synced LevelDB write would hold LevelDB's
  // writer queue, and with it every concurrent write, until its fsync ends.
  //
  // Correctness: a Write that returned before this call has its record in
  // the kernel (LevelDB write(2)s each log record before Write returns) in
  // the log file that was current then. That file was created before this
  // call, so the directory listing below shows it unless LevelDB deleted
  // it, and LevelDB deletes an old log only after its memtable has been
  // written to a table file that it synced, and the manifest naming that
  // table (and the newer log) was synced. So each such record is either in
  // a log file we fdatasync here (older logs still present are synced too:
  // LevelDB closes the old log unsynced when it switches, at memtable
  // compaction) or already in a synced table. A log deleted between the
  // listing and our open(2) is of the second kind (ENOENT: skipped); one
  // deleted after our open is synced through our fd, harmlessly.
  //
  // The log-switch race, handled conservatively: when the set of log files
  // differs from the one this method synced last time (the first call, or
  // LevelDB switched logs since, which happens once per write_buffer_size
  // of writes), the argument above depends on LevelDB's internal ordering
  // of table sync, manifest sync and log deletion, and on the new log's
  // directory entry being durable, which LevelDB itself never fsyncs. So
  // in that period this method also fsyncs the directory and then does a
  // synced LevelDB write (the old Sync(), through the writer queue): the
  // one period per log switch in which concurrent writers may wait for a
  // disk flush (that write may itself start a new log, when the memtable
  // is full, so the next period falls back once more). Every other period
  // only fdatasyncs.
  //
  // Concurrent callers are serialised (log_mu_); a caller that waited does
  // its own full pass, which starts after its call, as it must.
  Status SyncLog() override {
    std::lock_guard<std::mutex> l(log_mu_);
    std::vector<uint64_t> logs;
    if (!ListLogs(&logs) || logs.empty()) return Fallback();
    std::vector<uint64_t> synced;
    for (uint64_t number : logs) {
      const std::string path = LogPath(number);
      auto it = log_fds_.find(number);
      if (it == log_fds_.end()) {
        int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
          if (errno == ENOENT) continue;  // its memtable is in a synced table
          return Status::Io("open " + path + ": " + std::strerror(errno));
        }
        it = log_fds_.emplace(number, fd).first;
      }
      if (opts_.sync_log_hook) opts_.sync_log_hook("log", path);
      if (::fdatasync(it->second) != 0) {
        const int err = errno;
        if (err == EINVAL || err == EROFS) return Fallback();  // cannot sync
        return Status::Error(err,
                             "fdatasync " + path + ": " + std::strerror(err));
      }
      synced.push_back(number);
    }
    // Forget the fds of logs LevelDB has deleted.
    for (auto it = log_fds_.begin(); it != log_fds_.end();) {
      if (std::find(synced.begin(), synced.end(), it->first) == synced.end()) {
        ::close(it->second);
        it = log_fds_.erase(it);
      } else {
        ++it;
      }
    }
    if (synced != synced_logs_) {
      CFS_RETURN_IF_ERROR(SyncDir());
      CFS_RETURN_IF_ERROR(Fallback());
      synced_logs_ = std::move(synced);
    }
    return Status::Ok();
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
  std::string LogPath(uint64_t number) const {
    char name[32];
    std::snprintf(name, sizeof(name), "/%06llu.log",
                  static_cast<unsigned long long>(number));
    return dir_ + name;
  }

  // The numbers of the `<digits>.log` files in the directory, ascending.
  bool ListLogs(std::vector<uint64_t>* out) {
    DIR* d = ::opendir(dir_.c_str());
    if (d == nullptr) return false;
    while (struct dirent* e = ::readdir(d)) {
      std::string_view name(e->d_name);
      if (name.size() <= 4 || name.substr(name.size() - 4) != ".log") continue;
      std::string_view digits = name.substr(0, name.size() - 4);
      if (digits.size() > 19 ||
          !std::all_of(digits.begin(), digits.end(),
                       [](char c) { return c >= '0' && c <= '9'; })) {
        continue;
      }
      out->push_back(std::stoull(std::string(digits)));
    }
    ::closedir(d);
    std::sort(out->begin(), out->end());
    return true;
  }

  Status SyncDir() {
    int fd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Status::Io("open " + dir_ + ": " + std::strerror(errno));
    const int rc = ::fsync(fd);
    const int err = errno;
    ::close(fd);
    if (rc != 0 && err != EINVAL) {
      return Status::Error(err, "fsync " + dir_ + ": " + std::strerror(err));
    }
    return Status::Ok();
  }

  Status Fallback() {
    if (opts_.sync_log_hook) opts_.sync_log_hook("fallback", dir_);
    return Sync();
  }

  std::string dir_;
  SyncPolicy policy_;
  const LevelDbStoreOptions opts_;
  std::mutex log_mu_;
  std::map<uint64_t, int> log_fds_;    // GUARDED_BY(log_mu_): number -> fd
  std::vector<uint64_t> synced_logs_;  // GUARDED_BY(log_mu_): last pass's
  std::unique_ptr<leveldb::Cache> cache_;
  std::unique_ptr<const leveldb::FilterPolicy> filter_;
  std::unique_ptr<leveldb::DB> db_;
};

}  // namespace

Result<std::unique_ptr<MetadataStore>> OpenLevelDbStore(
    const std::string& dir, SyncPolicy policy, LevelDbStoreOptions opts) {
  auto store = std::make_unique<LevelDbStore>(dir, policy, std::move(opts));
  CFS_RETURN_IF_ERROR(store->Open());
  return std::unique_ptr<MetadataStore>(std::move(store));
}

}  // namespace concordfs
