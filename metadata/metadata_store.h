// MetadataStore: the durable home of inodes, directory entries, symlink
// targets, extended attributes and the orphan list.
//
// A store is an ordered key-value map (keys of metadata/keys.h) with three
// primitives that implementations provide: Get, Scan and an atomic Write of a
// MetadataBatch. The typed operations every caller uses (GetInode, Lookup,
// ListEntries, ...) are written once here on top of those primitives, so the
// LevelDB store and the in-memory store behave identically and one
// conformance suite covers both.
//
// Atomicity: every batch applies fully or not at all, also across a crash.
// Callers serialize their own read-modify-write sequences (vfs/ does, with
// per-inode locks); the store itself is thread-safe for concurrent calls.
// Durability follows SyncPolicy; batches marked `durable` are synced under
// kAlways and kBatch before Write returns (LevelDB merges concurrent synced
// writers into one log write and one fsync: group commit).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "metadata/records.h"
#include "util/status.h"

namespace concordfs {

enum class SyncPolicy {
  kAlways,  // every batch and every data write synced before returning
  kBatch,   // namespace/attribute batches synced (group commit); data at fsync
  kNone,    // nothing synced; a crash may lose recent operations (never
            // consistency)
};
const char* SyncPolicyName(SyncPolicy p);
bool ParseSyncPolicy(std::string_view s, SyncPolicy* out);

// Mutations applied atomically by MetadataStore::Write.
class MetadataBatch {
 public:
  struct Op {
    std::string key;
    std::optional<std::string> value;  // nullopt = delete
  };

  void PutInode(const Inode& inode);
  void DeleteInode(InodeId id);
  // Writes both the name key and the cookie key of `e`.
  void PutEntry(InodeId parent, const DirEntry& e);
  // Removes both keys; `e.name` and `e.cookie` must be the stored ones.
  void DeleteEntry(InodeId parent, const DirEntry& e);
  void PutSymlink(InodeId id, std::string_view target);
  void DeleteSymlink(InodeId id);
  void PutXattr(InodeId id, std::string_view name, std::string_view value);
  void DeleteXattr(InodeId id, std::string_view name);
  void AddOrphan(InodeId id);
  void RemoveOrphan(InodeId id);

  // Raw access for the superblock and tests.
  void Put(std::string key, std::string value);
  void Delete(std::string key);

  // When false the batch may be written without a sync even under kBatch
  // (attribute updates caused by data writes, which POSIX makes durable only
  // at fsync). Default true.
  void set_durable(bool d) { durable_ = d; }
  bool durable() const { return durable_; }
  // When true the batch is never synced by Write, not even under kAlways:
  // the caller makes it durable later with Sync() (the lock store's
  // background syncer). Default false.
  void set_sync_deferred(bool d) { sync_deferred_ = d; }
  bool sync_deferred() const { return sync_deferred_; }

  const std::vector<Op>& ops() const { return ops_; }
  bool empty() const { return ops_.empty(); }
  void Clear() { ops_.clear(); }

 private:
  std::vector<Op> ops_;
  bool durable_ = true;
  bool sync_deferred_ = false;
};

struct StoreStats {
  uint64_t inodes = 0;  // live inode records
  uint64_t next_id = 0;
};

class MetadataStore {
 public:
  virtual ~MetadataStore() = default;

  // ---- primitives (implemented by each store) ----
  // NotFound if absent.
  virtual Status Get(std::string_view key, std::string* value) = 0;
  // Visits keys >= `start` that begin with `prefix`, in order, until `fn`
  // returns false. Sees a consistent snapshot.
  virtual Status Scan(
      std::string_view prefix, std::string_view start,
      const std::function<bool(std::string_view key, std::string_view value)>&
          fn) = 0;
  virtual Status Write(const MetadataBatch& batch) = 0;
  // Makes every earlier Write durable (fsync of the metadata log).
  virtual Status Sync() = 0;
  // Like Sync() (every Write that returned before the call is durable when
  // it returns OK), but, where the store can, without holding up
  // concurrent writers for the duration of the fsync: the LevelDB store
  // fdatasyncs its log files directly instead of through a synced LevelDB
  // write (which holds LevelDB's writer queue across the fsync). For a
  // background syncer of unsynced writes (the lock store's). Default:
  // Sync().
  virtual Status SyncLog() { return Sync(); }
  virtual SyncPolicy sync_policy() const = 0;
  // "leveldb:/path" or "memory".
  virtual std::string Describe() const = 0;

  // ---- setup ----
  // Reads or creates the superblock and the root directory (owned by
  // root_uid/root_gid, mode root_mode). Must be called once before use.
  Status Initialize(uint32_t root_uid = 0, uint32_t root_gid = 0,
                    uint32_t root_mode = 0755);
  uint64_t filesystem_id() const { return fs_id_; }

  // A fresh inode id, never handed out before (also across restarts).
  Result<InodeId> AllocateId();

  // ---- typed reads ----
  Result<Inode> GetInode(InodeId id);
  // ENOENT if `name` is not in `parent`.
  Result<DirEntry> Lookup(InodeId parent, std::string_view name);
  // Entries of `parent` with cookie >= `from_cookie`, in cookie order, until
  // `fn` returns false.
  Status ListEntries(InodeId parent, uint64_t from_cookie,
                     const std::function<bool(const DirEntry&)>& fn);
  // True if `dir` has at least one entry.
  Result<bool> HasEntries(InodeId dir);
  Result<std::string> GetSymlink(InodeId id);
  // ENODATA if absent.
  Result<std::string> GetXattr(InodeId id, std::string_view name);
  Status ListXattrs(InodeId id, std::vector<std::string>* names);
  Status ListOrphans(std::vector<InodeId>* ids);
  Status ForEachInode(const std::function<bool(const Inode&)>& fn);

 protected:
  // Ids are reserved in blocks: the superblock records a high-water mark so
  // a restart never reuses an id, without a synced write per allocation.
  static constexpr uint64_t kIdBlock = 4096;

 private:
  Status WriteSuper(uint64_t limit);

  std::mutex id_mu_;
  std::atomic<uint64_t> next_id_{0};
  // Ids below the limit are reserved in the superblock; raised under id_mu_.
  std::atomic<uint64_t> id_limit_{0};
  uint64_t fs_id_ = 0;
};

struct LevelDbStoreOptions {
  // LevelDB's memtable size: a new log file is started each time this much
  // has been written (small in tests, to switch logs often).
  size_t write_buffer_size = 16 << 20;
  // Tests only: called by SyncLog() with "log" and the file's path before
  // it fdatasyncs a log file, and with "fallback" and the directory before
  // a synced LevelDB write that it does instead or in addition (see
  // leveldb_store.cc). May sleep, to make the sync slow.
  std::function<void(std::string_view event, const std::string& path)>
      sync_log_hook;
};

// Opens (creating if missing) a LevelDB store in `dir`.
Result<std::unique_ptr<MetadataStore>> OpenLevelDbStore(
    const std::string& dir, SyncPolicy policy, LevelDbStoreOptions opts = {});
// A store that lives in memory only (tests, benchmarks, scratch mounts).
std::unique_ptr<MetadataStore> NewMemoryStore();

}  // namespace concordfs
