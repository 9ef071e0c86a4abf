// Reclaiming unlinked files in the background, and the group commit.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "metadata/fsck.h"
#include "metadata/keys.h"
#include "tests/unit/vfs/vfs_fixture.h"
#include "vfs/group_commit.h"
#include "vfs/inode_locks.h"

namespace concordfs {
namespace {

class VfsReclaimTest : public VfsTest {};
CFS_INSTANTIATE_VFS_SUITE(VfsReclaimTest);

TEST_P(VfsReclaimTest, UnlinkedFileIsGoneAtOnceAndReclaimedBehind) {
  InodeId f = FileWith(RootCtx(), kRootInode, "f", "some data");
  ASSERT_OK(vfs().SetXattr(RootCtx(), f, "user.k", "v", 0));
  ASSERT_OK(vfs().Unlink(RootCtx(), kRootInode, "f"));
  // Before the reclaimer got to it, if it has not: gone for every caller.
  EXPECT_ERRNO(vfs().GetAttr(f), ENOENT);
  vfs().FlushReclaims();
  EXPECT_ERRNO(md_->GetInode(f), ENOENT);
  std::vector<InodeId> orphans;
  ASSERT_OK(md_->ListOrphans(&orphans));
  EXPECT_TRUE(orphans.empty());
  std::vector<std::string> xattrs;
  ASSERT_OK(md_->ListXattrs(f, &xattrs));
  EXPECT_TRUE(xattrs.empty());
  EXPECT_FALSE(HasContent(f));
  ASSERT_OK_AND_ASSIGN(FsckReport r,
                       CheckConsistency(md_.get(), content_.get(), {}));
  EXPECT_TRUE(r.consistent()) << r.Summary();
  EXPECT_EQ(r.orphans, 0u);
}

TEST_P(VfsReclaimTest, ManyUnlinksAllReclaimed) {
  std::vector<InodeId> ids;
  for (int i = 0; i < 100; ++i) {
    ids.push_back(FileWith(RootCtx(), kRootInode, "f" + std::to_string(i),
                           i % 2 ? "data" : ""));
  }
  for (int i = 0; i < 100; ++i) {
    ASSERT_OK(vfs().Unlink(RootCtx(), kRootInode, "f" + std::to_string(i)));
  }
  vfs().FlushReclaims();
  for (InodeId id : ids) EXPECT_ERRNO(md_->GetInode(id), ENOENT);
  ASSERT_OK_AND_ASSIGN(FsckReport r,
                       CheckConsistency(md_.get(), content_.get(), {}));
  EXPECT_TRUE(r.consistent()) << r.Summary();
  EXPECT_EQ(r.orphans, 0u);
  EXPECT_EQ(r.content_files, 0u);
}

TEST_P(VfsReclaimTest, FileOpenedBeforeTheReclaimerRunsWaitsForItsClose) {
  InodeId f = FileWith(RootCtx(), kRootInode, "f", "kept");
  ASSERT_OK_AND_ASSIGN(OpenResult o, vfs().Open(RootCtx(), f, O_RDONLY));
  ASSERT_OK(vfs().Unlink(RootCtx(), kRootInode, "f"));
  vfs().FlushReclaims();
  ASSERT_OK_AND_ASSIGN(std::string got,
                       vfs().Read(RootCtx(), f, o.handle, 0, 64));
  EXPECT_EQ(got, "kept");
  ASSERT_OK(vfs().Release(o.handle));
  EXPECT_ERRNO(md_->GetInode(f), ENOENT);
  EXPECT_FALSE(HasContent(f));
}

// A process that unlinks files and is killed (SIGKILL) right after the last
// unlink returned, reclaims possibly still queued: the store is consistent
// (orphans, no leaked content), and the next start reclaims everything.
TEST(VfsReclaimCrash, KillWithReclaimsQueuedLeavesOnlyOrphans) {
  std::string tmpl =
      (std::filesystem::temp_directory_path() / "vfs_reclaim_crash_XXXXXX")
          .string();
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  const std::filesystem::path dir = tmpl;
  const std::string md_dir = (dir / "md").string();
  const std::string content_dir = (dir / "content").string();
  constexpr int kFiles = 300;
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto md = OpenLevelDbStore(md_dir, SyncPolicy::kBatch);
    auto content = OpenLocalContentStore(content_dir, false);
    if (!md.ok() || !content.ok() || !(*md)->Initialize().ok()) _exit(2);
    Vfs vfs(md->get(), content->get());
    OpContext ctx = RootCtx();
    for (int i = 0; i < kFiles; ++i) {
      auto c = vfs.Create(ctx, kRootInode, "f" + std::to_string(i), 0644,
                          O_RDWR | O_EXCL);
      if (!c.ok()) _exit(3);
      if (!vfs.Write(ctx, c->attr.inode.id, c->handle, 0,
                     std::string(5000, 'x'))
               .ok() ||
          !vfs.Release(c->handle).ok()) {
        _exit(4);
      }
    }
    for (int i = 0; i < kFiles; ++i) {
      if (!vfs.Unlink(ctx, kRootInode, "f" + std::to_string(i)).ok()) _exit(5);
    }
    raise(SIGKILL);
    _exit(6);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "child exit status " << (WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  {
    ASSERT_OK_AND_ASSIGN(auto md, OpenLevelDbStore(md_dir, SyncPolicy::kBatch));
    ASSERT_OK_AND_ASSIGN(auto content,
                         OpenLocalContentStore(content_dir, false));
    ASSERT_OK_AND_ASSIGN(FsckReport before,
                         CheckConsistency(md.get(), content.get(), {}));
    EXPECT_TRUE(before.consistent()) << before.Summary();
    EXPECT_EQ(before.entries, 0u) << "unlinks were synced before returning";
    ASSERT_OK(md->Initialize());
    {
      Vfs vfs(md.get(), content.get());
      ASSERT_OK_AND_ASSIGN(uint64_t reclaimed, vfs.Recover());
      EXPECT_EQ(reclaimed, before.orphans);
    }
    ASSERT_OK_AND_ASSIGN(FsckReport after,
                         CheckConsistency(md.get(), content.get(), {}));
    EXPECT_TRUE(after.consistent()) << after.Summary();
    EXPECT_EQ(after.orphans, 0u);
    EXPECT_EQ(after.content_files, 0u);
    std::printf("orphans left by the kill: %llu of %d\n",
                static_cast<unsigned long long>(before.orphans), kFiles);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

// A store whose Sync takes a while and records which writes it covered.
class SlowSyncStore : public MetadataStore {
 public:
  SlowSyncStore() : inner_(NewMemoryStore()) {}
  Status Get(std::string_view key, std::string* value) override {
    return inner_->Get(key, value);
  }
  Status Scan(std::string_view prefix, std::string_view start,
              const std::function<bool(std::string_view, std::string_view)>& fn)
      override {
    return inner_->Scan(prefix, start, fn);
  }
  Status Write(const MetadataBatch&) override {
    written_.fetch_add(1);
    return Status::Ok();
  }
  Status Sync() override {
    uint64_t covers = written_.load();
    syncs_.fetch_add(1);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    uint64_t prev = synced_.load();
    while (prev < covers && !synced_.compare_exchange_weak(prev, covers)) {
    }
    return fail_ ? Status::Io("sync failed") : Status::Ok();
  }
  SyncPolicy sync_policy() const override { return SyncPolicy::kBatch; }
  std::string Describe() const override { return "slow"; }

  std::atomic<uint64_t> written_{0}, synced_{0}, syncs_{0};
  bool fail_ = false;

 private:
  std::unique_ptr<MetadataStore> inner_;
};

TEST(GroupCommitTest, ConcurrentCallersShareSyncsAndAreCovered) {
  SlowSyncStore store;
  InodeLocks locks;
  GroupCommit gc(&store, &locks, std::chrono::microseconds(200));
  constexpr int kThreads = 8, kRounds = 20;
  std::atomic<int> uncovered{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kRounds; ++i) {
        uint64_t mine = store.written_.fetch_add(1) + 1;
        if (!gc.Sync().ok() || store.synced_.load() < mine) ++uncovered;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(uncovered.load(), 0);
  EXPECT_LT(store.syncs_.load(), uint64_t{kThreads * kRounds});
}

TEST(GroupCommitTest, SyncWaitsForOpenLockedSectionsBriefly) {
  SlowSyncStore store;
  InodeLocks locks;
  GroupCommit gc(&store, &locks, std::chrono::milliseconds(50));
  std::atomic<bool> inside{false};
  std::thread op([&] {
    LockedSet lk(&locks, {InodeId{7}});
    inside = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    store.written_.fetch_add(1);
  });
  while (!inside.load()) std::this_thread::yield();
  ASSERT_OK(gc.Sync());
  op.join();
  // The section's write, made after Sync was called, was still covered.
  EXPECT_EQ(store.synced_.load(), 1u);
}

TEST(GroupCommitTest, FailureReachesTheCaller) {
  SlowSyncStore store;
  store.fail_ = true;
  InodeLocks locks;
  GroupCommit gc(&store, &locks, std::chrono::microseconds(100));
  EXPECT_ERRNO(gc.Sync(), EIO);
}

}  // namespace
}  // namespace concordfs
