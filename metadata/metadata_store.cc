#include "metadata/metadata_store.h"

#include <sys/random.h>

#include "metadata/keys.h"
#include "util/clock.h"
#include "util/coding.h"

namespace concordfs {
namespace {
constexpr uint8_t kSuperFormat = 1;

uint64_t RandomU64() {
  uint64_t v = 0;
  if (getrandom(&v, sizeof(v), 0) != sizeof(v)) {
    v = static_cast<uint64_t>(Clock::Default()->Now());
  }
  return v;
}
}  // namespace

const char* SyncPolicyName(SyncPolicy p) {
  switch (p) {
    case SyncPolicy::kAlways:
      return "always";
    case SyncPolicy::kBatch:
      return "batch";
    case SyncPolicy::kNone:
      return "none";
  }
  return "?";
}

bool ParseSyncPolicy(std::string_view s, SyncPolicy* out) {
  if (s == "always") {
    *out = SyncPolicy::kAlways;
  } else if (s == "batch") {
    *out = SyncPolicy::kBatch;
  } else if (s == "none") {
    *out = SyncPolicy::kNone;
  } else {
    return false;
  }
  return true;
}

// ---- MetadataBatch ----

void MetadataBatch::Put(std::string key, std::string value) {
  ops_.push_back(Op{std::move(key), std::move(value)});
}
void MetadataBatch::Delete(std::string key) {
  ops_.push_back(Op{std::move(key), std::nullopt});
}
void MetadataBatch::PutInode(const Inode& inode) {
  Put(keys::InodeKey(inode.id), EncodeInode(inode));
}
void MetadataBatch::DeleteInode(InodeId id) { Delete(keys::InodeKey(id)); }
void MetadataBatch::PutEntry(InodeId parent, const DirEntry& e) {
  Put(keys::EntryKey(parent, e.name), EncodeEntryValue(e));
  Put(keys::CookieKey(parent, e.cookie), EncodeCookieValue(e));
}
void MetadataBatch::DeleteEntry(InodeId parent, const DirEntry& e) {
  Delete(keys::EntryKey(parent, e.name));
  Delete(keys::CookieKey(parent, e.cookie));
}
void MetadataBatch::PutSymlink(InodeId id, std::string_view target) {
  Put(keys::SymlinkKey(id), std::string(target));
}
void MetadataBatch::DeleteSymlink(InodeId id) { Delete(keys::SymlinkKey(id)); }
void MetadataBatch::PutXattr(InodeId id, std::string_view name,
                             std::string_view value) {
  Put(keys::XattrKey(id, name), std::string(value));
}
void MetadataBatch::DeleteXattr(InodeId id, std::string_view name) {
  Delete(keys::XattrKey(id, name));
}
void MetadataBatch::AddOrphan(InodeId id) { Put(keys::OrphanKey(id), ""); }
void MetadataBatch::RemoveOrphan(InodeId id) { Delete(keys::OrphanKey(id)); }

// ---- MetadataStore: setup ----

Status MetadataStore::WriteSuper(uint64_t limit) {
  std::string v;
  PutU8(&v, kSuperFormat);
  PutU64(&v, fs_id_);
  PutU64(&v, limit);
  MetadataBatch b;
  b.Put(keys::Super(), std::move(v));
  return Write(b);
}

Status MetadataStore::Initialize(uint32_t root_uid, uint32_t root_gid,
                                 uint32_t root_mode) {
  std::string v;
  Status st = Get(keys::Super(), &v);
  if (st.ok()) {
    Decoder d(v);
    uint8_t format = d.U8();
    fs_id_ = d.U64();
    uint64_t limit = d.U64();
    if (!d.done() || format != kSuperFormat) {
      return Status::Corruption("superblock: unknown format");
    }
    std::lock_guard<std::mutex> l(id_mu_);
    next_id_ = limit;  // ids below the old limit may have been handed out
    id_limit_ = limit;
    return Status::Ok();
  }
  if (st.code() != ENOENT) return st;

  // A new filesystem: superblock and root directory in one batch.
  fs_id_ = RandomU64();
  {
    std::lock_guard<std::mutex> l(id_mu_);
    next_id_ = kRootInode + 1;
    id_limit_ = kRootInode + 1 + kIdBlock;
  }
  NanoTime now = Clock::Default()->Now();
  Inode root;
  root.id = kRootInode;
  root.generation = static_cast<uint32_t>(RandomU64());
  root.type = FileType::kDirectory;
  root.mode = root_mode & 07777;
  root.uid = root_uid;
  root.gid = root_gid;
  root.nlink = 2;
  root.atime = root.mtime = root.ctime = root.btime = now;
  root.change = 1;
  root.next_cookie = kFirstEntryCookie;
  root.parent = kRootInode;
  MetadataBatch b;
  std::string sv;
  PutU8(&sv, kSuperFormat);
  PutU64(&sv, fs_id_);
  PutU64(&sv, id_limit_);
  b.Put(keys::Super(), std::move(sv));
  b.PutInode(root);
  return Write(b);
}

Result<InodeId> MetadataStore::AllocateId() {
  uint64_t id = next_id_.fetch_add(1);
  if (id < id_limit_.load()) return id;
  std::lock_guard<std::mutex> l(id_mu_);
  // The new limit is published only after it is durable, so no id at or
  // above the stored high-water mark is ever handed out.
  uint64_t limit = id_limit_.load();
  if (id < limit) return id;
  uint64_t new_limit = limit;
  while (id >= new_limit) new_limit += kIdBlock;
  CFS_RETURN_IF_ERROR(WriteSuper(new_limit));
  id_limit_.store(new_limit);
  return id;
}

// ---- MetadataStore: typed reads ----

Result<Inode> MetadataStore::GetInode(InodeId id) {
  std::string v;
  Status st = Get(keys::InodeKey(id), &v);
  if (!st.ok()) return st;
  Inode n;
  CFS_RETURN_IF_ERROR(DecodeInode(v, &n));
  if (n.id != id) return Status::Corruption("inode id mismatch");
  return n;
}

Result<DirEntry> MetadataStore::Lookup(InodeId parent, std::string_view name) {
  std::string v;
  Status st = Get(keys::EntryKey(parent, name), &v);
  if (!st.ok()) return st;
  DirEntry e;
  CFS_RETURN_IF_ERROR(DecodeEntryValue(v, &e));
  e.name = std::string(name);
  return e;
}

Status MetadataStore::ListEntries(
    InodeId parent, uint64_t from_cookie,
    const std::function<bool(const DirEntry&)>& fn) {
  Status inner;
  Status st =
      Scan(keys::CookiePrefix(parent), keys::CookieKey(parent, from_cookie),
           [&](std::string_view key, std::string_view value) {
             DirEntry e;
             inner = DecodeCookieValue(value, &e);
             if (!inner.ok()) return false;
             std::string_view suffix = keys::KeySuffix(key);
             if (suffix.size() != 8) {
               inner = Status::Corruption("cookie key");
               return false;
             }
             e.cookie = LoadU64(suffix.data());
             return fn(e);
           });
  CFS_RETURN_IF_ERROR(st);
  return inner;
}

Result<bool> MetadataStore::HasEntries(InodeId dir) {
  bool any = false;
  Status st = Scan(keys::CookiePrefix(dir), keys::CookiePrefix(dir),
                   [&](std::string_view, std::string_view) {
                     any = true;
                     return false;
                   });
  if (!st.ok()) return st;
  return any;
}

Result<std::string> MetadataStore::GetSymlink(InodeId id) {
  std::string v;
  Status st = Get(keys::SymlinkKey(id), &v);
  if (!st.ok()) return st;
  return v;
}

Result<std::string> MetadataStore::GetXattr(InodeId id, std::string_view name) {
  std::string v;
  Status st = Get(keys::XattrKey(id, name), &v);
  if (st.code() == ENOENT) return Status::Error(ENODATA);
  if (!st.ok()) return st;
  return v;
}

Status MetadataStore::ListXattrs(InodeId id, std::vector<std::string>* names) {
  names->clear();
  return Scan(keys::XattrPrefix(id), keys::XattrPrefix(id),
              [&](std::string_view key, std::string_view) {
                names->emplace_back(keys::KeySuffix(key));
                return true;
              });
}

Status MetadataStore::ListOrphans(std::vector<InodeId>* ids) {
  ids->clear();
  std::string p = keys::TagPrefix(keys::kOrphan);
  return Scan(p, p, [&](std::string_view key, std::string_view) {
    ids->push_back(keys::KeyId(key));
    return true;
  });
}

Status MetadataStore::ForEachInode(
    const std::function<bool(const Inode&)>& fn) {
  Status inner;
  std::string p = keys::TagPrefix(keys::kInode);
  Status st = Scan(p, p, [&](std::string_view key, std::string_view value) {
    Inode n;
    inner = DecodeInode(value, &n);
    if (inner.ok() && n.id != keys::KeyId(key)) {
      inner = Status::Corruption("inode id mismatch");
    }
    if (!inner.ok()) return false;
    return fn(n);
  });
  CFS_RETURN_IF_ERROR(st);
  return inner;
}

}  // namespace concordfs
