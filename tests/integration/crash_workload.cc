// crash_workload: hammers the real backend (LevelDB + content directory)
// with random namespace, data and xattr operations until it is killed.
// crash_test.sh kills it with SIGKILL at random moments and runs
// `concordfs fsck` after each kill.
//
//   crash_workload DATA_DIR SEED
#include <fcntl.h>

#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "daemon/backend.h"
#include "util/log.h"

namespace concordfs {
namespace {

class Workload {
 public:
  Workload(Vfs* vfs, uint32_t seed) : vfs_(vfs), rng_(seed) {
    dirs_.push_back(kRootInode);
  }

  void Step() {
    InodeId dir = Pick(dirs_);
    std::string name = Name();
    switch (Rand(12)) {
      case 0:
      case 1:
        CreateAndWrite(dir, name);
        break;
      case 2: {
        Result<Attr> a = vfs_->Mkdir(ctx_, dir, "d" + name, 0755);
        if (a.ok()) dirs_.push_back(a->inode.id);
        break;
      }
      case 3:
        (void)vfs_->Unlink(ctx_, dir, name);
        break;
      case 4:
        (void)vfs_->Rmdir(ctx_, dir, "d" + name);
        break;
      case 5:
        (void)vfs_->Rename(ctx_, dir, Rand(3) ? name : "d" + name, Pick(dirs_),
                           Rand(3) ? Name() : "d" + Name(),
                           Rand(5) == 0 ? kRenameExchange : 0);
        break;
      case 6: {
        Result<Attr> a = vfs_->Lookup(ctx_, dir, name);
        if (a.ok()) (void)vfs_->Link(ctx_, a->inode.id, Pick(dirs_), Name());
        break;
      }
      case 7:
        (void)vfs_->Symlink(ctx_, dir, "s" + name, "target-" + name);
        break;
      case 8: {
        Result<Attr> a = vfs_->Lookup(ctx_, dir, name);
        if (a.ok()) {
          (void)vfs_->SetXattr(ctx_, a->inode.id, "user.k" + Name(), name, 0);
        }
        break;
      }
      case 9:
        KeepOpenAndUnlink(dir, name);
        break;
      case 10:
        CloseSome();
        break;
      default: {
        Result<Attr> a = vfs_->Lookup(ctx_, dir, name);
        if (a.ok() && a->inode.is_reg()) {
          SetAttrRequest r;
          r.size = Rand(20000);
          (void)vfs_->SetAttr(ctx_, a->inode.id, r);
        }
      }
    }
  }

 private:
  uint64_t Rand(uint64_t n) { return rng_() % n; }
  std::string Name() { return std::to_string(Rand(24)); }
  InodeId Pick(const std::vector<InodeId>& v) { return v[Rand(v.size())]; }

  void CreateAndWrite(InodeId dir, const std::string& name) {
    Result<OpenResult> o = vfs_->Create(ctx_, dir, name, 0644, O_RDWR);
    if (!o.ok()) return;
    std::string data(1 + Rand(16384), static_cast<char>('a' + Rand(26)));
    (void)vfs_->Write(ctx_, o->attr.inode.id, o->handle, Rand(65536), data);
    (void)vfs_->Release(o->handle);
  }

  // Leaves files unlinked while open, so a kill leaves orphans behind.
  void KeepOpenAndUnlink(InodeId dir, const std::string& name) {
    Result<OpenResult> o = vfs_->Create(ctx_, dir, "o" + name, 0644, O_RDWR);
    if (!o.ok()) return;
    (void)vfs_->Write(ctx_, o->attr.inode.id, o->handle, 0, "orphan data");
    open_.push_back(o->handle);
    (void)vfs_->Unlink(ctx_, dir, "o" + name);
  }

  void CloseSome() {
    while (open_.size() > 4) {
      (void)vfs_->Release(open_.front());
      open_.erase(open_.begin());
    }
  }

  Vfs* vfs_;
  std::mt19937_64 rng_;
  OpContext ctx_;
  std::vector<InodeId> dirs_;
  std::vector<uint64_t> open_;
};

}  // namespace
}  // namespace concordfs

int main(int argc, char** argv) {
  using namespace concordfs;
  if (argc != 3) {
    std::fprintf(stderr, "usage: crash_workload DATA_DIR SEED\n");
    return 2;
  }
  concordfs::SetLogLevel("warn");
  Config config;
  config.data_dir = argv[1];
  config.sync = SyncPolicy::kBatch;
  auto backend = Backend::Open(config);
  if (!backend.ok()) {
    std::fprintf(stderr, "open: %s\n", backend.status().ToString().c_str());
    return 3;
  }
  Status st = (*backend)->Start();
  if (!st.ok()) {
    std::fprintf(stderr, "start: %s\n", st.ToString().c_str());
    return 3;
  }
  Workload w((*backend)->vfs(), static_cast<uint32_t>(std::stoul(argv[2])));
  std::printf("running\n");
  std::fflush(stdout);
  for (;;) w.Step();
}
