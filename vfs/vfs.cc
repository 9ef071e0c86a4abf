// Vfs: construction, change events, attributes, lookups, reclaiming
// unlinked files, statfs. Namespace changes are in vfs_namespace.cc, data
// and open files in vfs_data.cc, extended attributes in vfs_xattr.cc.
#include "vfs/vfs.h"

#include <condition_variable>
#include <thread>

#include "metadata/fsck.h"
#include "metadata/keys.h"
#include "util/log.h"
#include "vfs/group_commit.h"
#include "vfs/inode_locks.h"
#include "vfs/open_files.h"
#include "vfs/permissions.h"
#include "vfs/vfs_internal.h"

namespace concordfs {

using vfs_internal::RequireDir;

// The background reclaimer of unlinked files (see Vfs::FlushReclaims).
struct Vfs::Reclaimer {
  static constexpr size_t kBatch = 16;  // inodes per metadata batch
  // How long a queued inode may wait for others to share its batch: an
  // unlink burst then costs a wakeup and a store write per batch, not per
  // file (both compete with the unlinks themselves for the CPU and for
  // LevelDB's writer queue).
  static constexpr std::chrono::milliseconds kLinger{2};
  std::mutex mu;
  std::condition_variable cv;       // work queued, or stop
  std::condition_variable idle_cv;  // queue empty and no batch running
  std::vector<InodeId> queue;       // GUARDED_BY(mu)
  bool running = false;             // GUARDED_BY(mu): a batch is at work
  bool stop = false;                // GUARDED_BY(mu)
  int flushers = 0;                 // GUARDED_BY(mu): FlushReclaims waiting
  std::thread thread;
};

bool ParseAtimePolicy(std::string_view s, AtimePolicy* out) {
  if (s == "relatime") {
    *out = AtimePolicy::kRelatime;
  } else if (s == "strict") {
    *out = AtimePolicy::kStrict;
  } else if (s == "noatime") {
    *out = AtimePolicy::kNoatime;
  } else {
    return false;
  }
  return true;
}

Vfs::Vfs(MetadataStore* md, ContentStore* content, VfsOptions opts)
    : md_(md),
      content_(content),
      opts_(opts),
      clock_(opts.clock ? opts.clock : Clock::Default()),
      locks_(std::make_unique<InodeLocks>()),
      commit_(
          std::make_unique<GroupCommit>(md, locks_.get(), opts.commit_wait)),
      open_files_(std::make_unique<OpenFileTable>()) {
  // StatFs reports used inodes; counted once here, kept current after.
  int64_t count = 0;
  Status st = md_->ForEachInode([&](const Inode&) {
    ++count;
    return true;
  });
  if (!st.ok()) CFS_LOG_WARN("counting inodes failed: {}", st.ToString());
  live_inodes_ = count;
  reclaimer_ = std::make_unique<Reclaimer>();
  reclaimer_->thread = std::thread([this] { ReclaimLoop(); });
}

Vfs::~Vfs() {
  {
    std::lock_guard<std::mutex> l(reclaimer_->mu);
    reclaimer_->stop = true;
  }
  reclaimer_->cv.notify_all();
  reclaimer_->thread.join();  // reclaims what is queued first
}

// ---- events ----

uint64_t Vfs::Subscribe(ChangeListener listener) {
  std::lock_guard<std::mutex> l(listeners_mu_);
  uint64_t token = next_token_++;
  listeners_.emplace_back(token, std::move(listener));
  has_listeners_ = true;
  return token;
}

void Vfs::Unsubscribe(uint64_t token) {
  std::lock_guard<std::mutex> l(listeners_mu_);
  std::erase_if(listeners_, [&](const auto& p) { return p.first == token; });
  has_listeners_ = !listeners_.empty();
}

void Vfs::Emit(const ChangeEvent& ev) {
  if (!has_listeners_.load(std::memory_order_relaxed)) return;
  std::vector<ChangeListener> copy;
  {
    std::lock_guard<std::mutex> l(listeners_mu_);
    for (const auto& p : listeners_) copy.push_back(p.second);
  }
  for (const auto& fn : copy) fn(ev);
}

void Vfs::Emit(ChangeEvent::Kind kind, InodeId ino, InodeId parent,
               std::string_view name, Origin origin) {
  if (!has_listeners_.load(std::memory_order_relaxed)) return;
  Emit(ChangeEvent{kind, ino, parent, std::string(name), origin});
}

// ---- attributes ----

Result<Attr> Vfs::MakeAttr(const Inode& inode) {
  Attr a;
  a.inode = inode;
  uint64_t used;
  if (OverlayDirect(&a.inode, &used)) {
    a.used_bytes = used;
  } else if (inode.is_reg()) {
    Result<uint64_t> used = content_->AllocatedBytes(inode.id);
    a.used_bytes = used.ok() ? *used : inode.size;
  } else if (inode.is_dir()) {
    a.used_bytes = 4096;
  }
  return a;
}

Result<Inode> Vfs::LiveRecord(InodeId ino) {
  CFS_ASSIGN_OR_RETURN(Inode inode, md_->GetInode(ino));
  // Unlinked and not open: gone, even if the reclaimer has not got to it.
  if (inode.nlink == 0 && open_files_->Count(ino) == 0) {
    return Status::NotFound("inode was removed");
  }
  return inode;
}

Result<Inode> Vfs::LiveInode(InodeId ino) {
  CFS_ASSIGN_OR_RETURN(Inode inode, LiveRecord(ino));
  OverlayDirect(&inode);
  return inode;
}

Result<Attr> Vfs::GetAttr(InodeId ino) {
  // MakeAttr applies the direct I/O overlay (one fstat, not two).
  CFS_ASSIGN_OR_RETURN(Inode inode, LiveRecord(ino));
  return MakeAttr(inode);
}

Result<Attr> Vfs::Lookup(const OpContext& ctx, InodeId parent,
                         std::string_view name) {
  CFS_ASSIGN_OR_RETURN(Inode dir, RequireDir(md_->GetInode(parent)));
  CFS_RETURN_IF_ERROR(CheckAccess(dir, ctx.cred, kMayExec));
  CFS_RETURN_IF_ERROR(vfs_internal::ValidateLookupName(name));
  if (name == ".") return MakeAttr(dir);
  if (name == "..") return GetAttr(dir.parent);
  CFS_ASSIGN_OR_RETURN(DirEntry e, md_->Lookup(parent, name));
  return GetAttr(e.child);
}

Status Vfs::Access(const OpContext& ctx, InodeId ino, int mask) {
  CFS_ASSIGN_OR_RETURN(Inode inode, LiveInode(ino));
  if (mask == 0) return Status::Ok();
  return CheckAccess(inode, ctx.cred, mask);
}

Result<std::string> Vfs::ReadLink(const OpContext&, InodeId ino) {
  CFS_ASSIGN_OR_RETURN(Inode inode, LiveInode(ino));
  if (inode.type != FileType::kSymlink) return Status::Invalid("not a symlink");
  return md_->GetSymlink(ino);
}

// ---- reclaiming unlinked inodes ----

Status Vfs::ReclaimNow(InodeId ino) {
  // The orphan record is durable already: if this batch is lost in a crash,
  // the next start reclaims the inode again. So no sync is needed here.
  CFS_RETURN_IF_ERROR(ReclaimInode(md_, content_, ino, /*durable=*/false));
  live_inodes_.fetch_sub(1);
  return Status::Ok();
}

void Vfs::QueueReclaim(InodeId ino) {
  bool wake;
  {
    std::lock_guard<std::mutex> l(reclaimer_->mu);
    reclaimer_->queue.push_back(ino);
    // The first starts the linger; a full batch ends it.
    wake = reclaimer_->queue.size() == 1 ||
           reclaimer_->queue.size() == Reclaimer::kBatch;
  }
  if (wake) reclaimer_->cv.notify_one();
}

void Vfs::FlushReclaims() {
  std::unique_lock<std::mutex> l(reclaimer_->mu);
  ++reclaimer_->flushers;
  reclaimer_->cv.notify_one();  // no lingering while someone waits
  reclaimer_->idle_cv.wait(
      l, [&] { return reclaimer_->queue.empty() && !reclaimer_->running; });
  --reclaimer_->flushers;
}

void Vfs::ReclaimLoop() {
  Reclaimer& r = *reclaimer_;
  std::unique_lock<std::mutex> l(r.mu);
  for (;;) {
    r.cv.wait(l, [&] { return r.stop || !r.queue.empty(); });
    if (r.queue.empty()) return;  // stopping, nothing left
    r.cv.wait_for(l, Reclaimer::kLinger, [&] {
      return r.stop || r.flushers > 0 || r.queue.size() >= Reclaimer::kBatch;
    });
    size_t n = std::min(r.queue.size(), Reclaimer::kBatch);
    std::vector<InodeId> ids(r.queue.begin(), r.queue.begin() + n);
    r.queue.erase(r.queue.begin(), r.queue.begin() + n);
    r.running = true;
    l.unlock();
    ReclaimBatch(ids);
    l.lock();
    r.running = false;
    if (r.queue.empty()) r.idle_cv.notify_all();
  }
}

// One batch for several inodes. The stripes are held (uncounted: commits
// need not wait for this) from the checks to the write, as ReclaimIfUnused
// does; a failure leaves the orphan keys for the next start.
void Vfs::ReclaimBatch(const std::vector<InodeId>& ids) {
  LockedSet lk(locks_.get(), ids, /*counted=*/false);
  MetadataBatch b;
  b.set_durable(false);  // the orphan keys are durable already
  int64_t reclaimed = 0;
  for (InodeId ino : ids) {
    if (open_files_->Count(ino) > 0) continue;  // its last close reclaims it
    Result<Inode> inode = md_->GetInode(ino);
    if (!inode.ok() || inode->nlink > 0) continue;
    Status st = content_->Remove(ino);
    std::vector<std::string> xattrs;
    if (st.ok()) st = md_->ListXattrs(ino, &xattrs);
    if (!st.ok()) {
      CFS_LOG_WARN("reclaiming inode {} failed: {}", ino, st.ToString());
      continue;
    }
    for (const std::string& name : xattrs) b.DeleteXattr(ino, name);
    b.DeleteSymlink(ino);
    b.DeleteInode(ino);
    b.RemoveOrphan(ino);
    ++reclaimed;
  }
  if (reclaimed == 0) return;
  Status st = md_->Write(b);
  if (!st.ok()) {
    CFS_LOG_WARN("reclaiming {} inodes failed: {}", reclaimed, st.ToString());
    return;
  }
  live_inodes_.fetch_sub(reclaimed);
}

// Caller holds the stripe of `ino`.
Status Vfs::ReclaimIfUnused(InodeId ino) {
  if (open_files_->Count(ino) > 0) return Status::Ok();
  Result<Inode> inode = md_->GetInode(ino);
  if (!inode.ok())
    return inode.code() == ENOENT ? Status::Ok() : inode.status();
  if (inode->nlink > 0) return Status::Ok();
  return ReclaimNow(ino);
}

Result<uint64_t> Vfs::Recover() {
  std::vector<InodeId> orphans;
  CFS_RETURN_IF_ERROR(md_->ListOrphans(&orphans));
  uint64_t reclaimed = 0;
  for (InodeId ino : orphans) {
    LockedSet lk(locks_.get(), {ino});
    if (open_files_->Count(ino) > 0) continue;
    Result<Inode> inode = md_->GetInode(ino);
    if (!inode.ok()) {
      // The inode is gone already; drop the stale orphan record.
      MetadataBatch b;
      b.RemoveOrphan(ino);
      CFS_RETURN_IF_ERROR(md_->Write(b));
      continue;
    }
    if (inode->nlink > 0) continue;
    CFS_RETURN_IF_ERROR(ReclaimNow(ino));
    ++reclaimed;
  }
  if (reclaimed > 0) {
    CFS_LOG_INFO("reclaimed {} files that were unlinked while open", reclaimed);
  }
  return reclaimed;
}

uint32_t Vfs::OpenCount(InodeId ino) const { return open_files_->Count(ino); }

Result<FsStats> Vfs::StatFs() {
  CFS_ASSIGN_OR_RETURN(ContentSpace space, content_->Space());
  FsStats s;
  s.block_size = space.block_size;
  s.total_bytes = space.total_bytes;
  s.free_bytes = space.free_bytes;
  s.avail_bytes = space.avail_bytes;
  s.total_inodes = opts_.max_inodes;
  uint64_t used = static_cast<uint64_t>(std::max<int64_t>(0, live_inodes_));
  s.free_inodes = used < s.total_inodes ? s.total_inodes - used : 0;
  return s;
}

}  // namespace concordfs
