// Shared fixture of the vfs POSIX-semantics tests.
//
// Every test runs twice, on the in-memory stores ("memory") and on LevelDB
// plus the local content store ("leveldb"), each in a fresh temporary
// directory removed afterwards. Time comes from a ManualClock that starts
// well after the wall clock (the root directory is stamped by the system
// clock at Initialize), so timestamp assertions are exact. Linux behaviour is
// the reference for every expected errno.
#pragma once

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "metadata/content_store.h"
#include "metadata/metadata_store.h"
#include "metadata/records.h"
#include "util/clock.h"
#include "util/status.h"
#include "vfs/credential.h"
#include "vfs/vfs.h"

namespace concordfs {

inline std::string ErrName(int code) {
  return code == 0 ? "OK" : ErrnoName(code);
}
inline std::string StatusText(const Status& s) { return s.ToString(); }
template <typename T>
std::string StatusText(const Result<T>& r) {
  return r.status().ToString();
}

}  // namespace concordfs

// Works for Status and Result<T>. Compares errno names so a failure reads
// "ENOTEMPTY vs EISDIR" instead of two numbers.
#define EXPECT_ERRNO(expr, expected)             \
  EXPECT_EQ(::concordfs::ErrName((expr).code()), \
            ::concordfs::ErrName(expected))      \
      << #expr
#define ASSERT_ERRNO(expr, expected)             \
  ASSERT_EQ(::concordfs::ErrName((expr).code()), \
            ::concordfs::ErrName(expected))      \
      << #expr

#define EXPECT_OK(expr)                                         \
  do {                                                          \
    const auto& cfs_ok_r_ = (expr);                             \
    EXPECT_TRUE(cfs_ok_r_.ok())                                 \
        << #expr << ": " << ::concordfs::StatusText(cfs_ok_r_); \
  } while (0)
#define ASSERT_OK(expr)                                         \
  do {                                                          \
    const auto& cfs_ok_r_ = (expr);                             \
    ASSERT_TRUE(cfs_ok_r_.ok())                                 \
        << #expr << ": " << ::concordfs::StatusText(cfs_ok_r_); \
  } while (0)

#define CFS_ASSERT_OK_AND_ASSIGN_IMPL(tmp, lhs, expr)                     \
  auto tmp = (expr);                                                      \
  ASSERT_TRUE(tmp.ok()) << #expr << ": " << ::concordfs::StatusText(tmp); \
  lhs = std::move(tmp).value()
// `ASSERT_OK_AND_ASSIGN(auto attr, vfs().GetAttr(ino));`
#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  CFS_ASSERT_OK_AND_ASSIGN_IMPL(CFS_CONCAT(cfs_res_, __LINE__), lhs, expr)

namespace concordfs {

inline constexpr uint32_t kAliceUid = 1000;
inline constexpr uint32_t kBobUid = 1001;
inline constexpr uint32_t kCarolUid = 1002;
inline constexpr uint32_t kDaveUid = 1003;
inline constexpr uint32_t kStaffGid = 2000;  // bob (supplementary), carol
inline constexpr uint32_t kOtherGid = 3000;  // nobody is a member

inline OpContext Ctx(uint32_t uid, uint32_t gid, std::vector<uint32_t> groups,
                     Origin origin = Origin::kInternal) {
  OpContext c;
  c.cred.uid = uid;
  c.cred.gid = gid;
  c.cred.groups = std::move(groups);
  c.origin = origin;
  return c;
}
inline OpContext RootCtx() { return Ctx(0, 0, {}); }
inline OpContext Alice() { return Ctx(kAliceUid, 1000, {1000}); }
inline OpContext Bob() { return Ctx(kBobUid, 1001, {1001, kStaffGid}); }
inline OpContext Carol() { return Ctx(kCarolUid, kStaffGid, {}); }
// In no group that any test file uses: always the "other" class.
inline OpContext Dave() { return Ctx(kDaveUid, 1003, {1003}); }

class VfsTest : public ::testing::TestWithParam<std::string> {
 protected:
  // Far enough after the wall clock that the root directory (stamped at
  // Initialize by the system clock) is always older than anything we do.
  static constexpr NanoTime kStart = 2'000'000'000LL * kNanosPerSecond;

  VfsTest() : clock_(kStart) {}

  void SetUp() override {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "vfs_test_XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    if (GetParam() == "memory") {
      md_ = NewMemoryStore();
      content_ = NewMemoryContentStore();
    } else {
      auto md = OpenLevelDbStore((dir_ / "md").string(), SyncPolicy::kNone);
      ASSERT_OK(md);
      md_ = std::move(md).value();
      auto content = OpenLocalContentStore((dir_ / "content").string(), false);
      ASSERT_OK(content);
      content_ = std::move(content).value();
    }
    ASSERT_OK(md_->Initialize(0, 0, 0755));
    StartVfs();
  }

  void TearDown() override {
    vfs_.reset();
    content_.reset();
    md_.reset();
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }

  // (Re)creates the Vfs over the same stores; the old one is destroyed
  // first (a clean restart). Like the daemon, calls Recover() before use
  // unless told not to.
  void StartVfs(VfsOptions opts = {}, bool recover = true) {
    vfs_.reset();
    opts.clock = &clock_;
    vfs_ = std::make_unique<Vfs>(md_.get(), content_.get(), opts);
    if (recover) {
      auto r = vfs_->Recover();
      ASSERT_TRUE(r.ok()) << "Recover: " << StatusText(r);
    }
  }

  // Simulates a crash: the old Vfs is abandoned without running its
  // destructor (no Release, no cleanup of any kind), then a new one starts
  // over the same stores. The abandoned object stays reachable from a static
  // so leak checkers do not report it; it is never touched again.
  void CrashAndRestart() {
    // The abandoned Vfs's reclaimer must not race the new one's Recover:
    // what it had queued is done first (tests that need reclaims pending
    // at a crash kill a real process: vfs_reclaim_test.cc).
    vfs_->FlushReclaims();
    static auto* abandoned = new std::vector<Vfs*>();
    abandoned->push_back(vfs_.release());
    StartVfs({}, /*recover=*/false);  // the test calls Recover itself
  }

  Vfs& vfs() { return *vfs_; }
  ManualClock& clock() { return clock_; }
  NanoTime Now() const { return clock_.Now(); }
  // Moves the clock forward by a bit more than a second and returns the new
  // time, so every step yields distinct timestamps.
  NanoTime Tick() {
    clock_.Advance(kNanosPerSecond + 1234);
    return clock_.Now();
  }

  // ---- helpers; each records a failure and returns a neutral value ----

  Inode Stat(InodeId ino) {
    auto r = vfs_->GetAttr(ino);
    EXPECT_TRUE(r.ok()) << "GetAttr(" << ino << "): " << StatusText(r);
    return r.ok() ? r->inode : Inode{};
  }

  // What `name` in `parent` resolves to (as root); kInvalidInode if nothing.
  InodeId LookupId(InodeId parent, std::string_view name) {
    auto r = vfs_->Lookup(RootCtx(), parent, name);
    return r.ok() ? r->inode.id : kInvalidInode;
  }

  InodeId MakeDir(const OpContext& ctx, InodeId parent, std::string_view name,
                  uint32_t mode = 0755) {
    auto r = vfs_->Mkdir(ctx, parent, name, mode);
    EXPECT_TRUE(r.ok()) << "Mkdir(" << name << "): " << StatusText(r);
    return r.ok() ? r->inode.id : kInvalidInode;
  }

  InodeId MakeFile(const OpContext& ctx, InodeId parent, std::string_view name,
                   uint32_t mode = 0644) {
    auto r = vfs_->Mknod(ctx, parent, name, S_IFREG | mode, 0);
    EXPECT_TRUE(r.ok()) << "Mknod(" << name << "): " << StatusText(r);
    return r.ok() ? r->inode.id : kInvalidInode;
  }

  // A directory under the root, made by root, then given `mode` exactly
  // (including S_ISGID / S_ISVTX) and handed to `uid`:`gid`.
  InodeId OwnedDir(std::string_view name, uint32_t uid, uint32_t gid,
                   uint32_t mode) {
    InodeId d = MakeDir(RootCtx(), kRootInode, name, 0755);
    SetAttrRequest req;
    req.uid = uid;
    req.gid = gid;
    EXPECT_OK(vfs_->SetAttr(RootCtx(), d, req));
    EXPECT_OK(Chmod(RootCtx(), d, mode));
    return d;
  }
  // A directory owned by the caller of `owner` (uid and primary gid).
  InodeId UserDir(const OpContext& owner, std::string_view name,
                  uint32_t mode = 0755) {
    return OwnedDir(name, owner.cred.uid, owner.cred.gid, mode);
  }
  // A root-owned world-writable directory (mode 0777 unless given).
  InodeId SharedDir(std::string_view name, uint32_t mode = 0777) {
    return OwnedDir(name, 0, 0, mode);
  }

  // A regular file holding `data`, written through a handle.
  InodeId FileWith(const OpContext& ctx, InodeId parent, std::string_view name,
                   std::string_view data, uint32_t mode = 0644) {
    auto c = vfs_->Create(ctx, parent, name, mode, O_RDWR | O_EXCL);
    EXPECT_TRUE(c.ok()) << "Create(" << name << "): " << StatusText(c);
    if (!c.ok()) return kInvalidInode;
    if (!data.empty()) {
      EXPECT_OK(vfs_->Write(ctx, c->attr.inode.id, c->handle, 0, data));
    }
    EXPECT_OK(vfs_->Release(c->handle));
    return c->attr.inode.id;
  }

  Result<Attr> Chmod(const OpContext& ctx, InodeId ino, uint32_t mode) {
    SetAttrRequest req;
    req.mode = mode;
    return vfs_->SetAttr(ctx, ino, req);
  }
  Result<Attr> Chown(const OpContext& ctx, InodeId ino,
                     std::optional<uint32_t> uid, std::optional<uint32_t> gid) {
    SetAttrRequest req;
    req.uid = uid;
    req.gid = gid;
    return vfs_->SetAttr(ctx, ino, req);
  }
  Result<Attr> Truncate(const OpContext& ctx, InodeId ino, uint64_t size) {
    SetAttrRequest req;
    req.size = size;
    return vfs_->SetAttr(ctx, ino, req);
  }

  // Whole content through a stateless (handle 0) read as root.
  std::string ReadAll(InodeId ino) {
    Inode i = Stat(ino);
    auto r = vfs_->Read(RootCtx(), ino, 0, 0, i.size + 16);
    EXPECT_TRUE(r.ok()) << "Read(" << ino << "): " << StatusText(r);
    return r.ok() ? *r : std::string();
  }

  // Every entry name of `dir` (including "." and ".."), as `ctx`.
  std::vector<std::string> ListNames(const OpContext& ctx, InodeId dir) {
    std::vector<std::string> names;
    Status st =
        vfs_->ReadDir(ctx, dir, 0, 0, false, [&](const ReadDirEntry& e) {
          names.push_back(e.name);
          return true;
        });
    EXPECT_TRUE(st.ok()) << "ReadDir: " << st.ToString();
    return names;
  }

  // Whether the content store still holds anything for `ino`, once the
  // background reclaims queued so far are done.
  bool HasContent(InodeId ino) {
    vfs_->FlushReclaims();
    bool found = false;
    EXPECT_OK(content_->ForEachId([&](InodeId id) {
      if (id == ino) found = true;
    }));
    return found;
  }

  ManualClock clock_;
  std::filesystem::path dir_;
  std::unique_ptr<MetadataStore> md_;
  std::unique_ptr<ContentStore> content_;
  std::unique_ptr<Vfs> vfs_;
};

inline std::string BackendName(
    const ::testing::TestParamInfo<std::string>& info) {
  return info.param;
}

}  // namespace concordfs

// Each test file derives its own suite from VfsTest and instantiates it here.
#define CFS_INSTANTIATE_VFS_SUITE(suite)                                \
  INSTANTIATE_TEST_SUITE_P(                                             \
      Backends, suite,                                                  \
      ::testing::Values(std::string("memory"), std::string("leveldb")), \
      ::concordfs::BackendName)
