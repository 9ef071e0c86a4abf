// vfs micro-benchmarks on the real LevelDB + content-directory backend, with
// the same operations on the native filesystem (same disk) side by side.
//
// Names: BM_<Op>/<store> where store is leveldb_batch (default durability:
// namespace changes synced with group commit), leveldb_none (no syncs) or
// native (syscalls on a directory of the same filesystem).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "metadata/content_store.h"
#include "metadata/metadata_store.h"
#include "vfs/vfs.h"

namespace concordfs {
namespace {

constexpr int kFiles = 20000;
constexpr uint64_t kFileBytes = 64 << 20;

std::string BenchDir() {
  const char* base = getenv("CFS_BENCH_DIR");
  std::string tmpl =
      std::string(base ? base : "/var/tmp") + "/cfs-bench-XXXXXX";
  if (!mkdtemp(tmpl.data())) abort();
  return tmpl;
}

// A fresh backend in its own directory, removed on destruction.
struct Backend {
  explicit Backend(SyncPolicy policy) : dir(BenchDir()) {
    md = std::move(OpenLevelDbStore(dir + "/md", policy)).value();
    content = std::move(OpenLocalContentStore(dir + "/content", false)).value();
    if (!md->Initialize().ok()) abort();
    vfs = std::make_unique<Vfs>(md.get(), content.get());
  }
  ~Backend() {
    vfs.reset();
    md.reset();
    content.reset();
    std::filesystem::remove_all(dir);
  }
  std::string dir;
  std::unique_ptr<MetadataStore> md;
  std::unique_ptr<ContentStore> content;
  std::unique_ptr<Vfs> vfs;
  OpContext ctx;
};

SyncPolicy PolicyOf(const benchmark::State& s) {
  return s.range(0) == 0 ? SyncPolicy::kBatch : SyncPolicy::kNone;
}

InodeId MakeFiles(Backend& b, int n) {
  InodeId dir = b.vfs->Mkdir(b.ctx, kRootInode, "d", 0755)->inode.id;
  for (int i = 0; i < n; ++i) {
    auto o = b.vfs->Create(b.ctx, dir, "f" + std::to_string(i), 0644, O_RDWR);
    (void)b.vfs->Release(o->handle);
  }
  return dir;
}

void BM_Create(benchmark::State& state) {
  Backend b(PolicyOf(state));
  int i = 0;
  for (auto _ : state) {
    auto o = b.vfs->Create(b.ctx, kRootInode, "f" + std::to_string(i++), 0644,
                           O_RDWR | O_EXCL);
    if (!o.ok()) state.SkipWithError("create failed");
    (void)b.vfs->Release(o->handle);
  }
}

void BM_Unlink(benchmark::State& state) {
  Backend b(PolicyOf(state));
  InodeId dir = MakeFiles(b, kFiles);
  int i = 0;
  for (auto _ : state) {
    if (!b.vfs->Unlink(b.ctx, dir, "f" + std::to_string(i++)).ok()) {
      state.SkipWithError("unlink failed");
    }
  }
}

void BM_Lookup(benchmark::State& state) {
  Backend b(SyncPolicy::kBatch);
  InodeId dir = MakeFiles(b, 1000);
  int i = 0;
  for (auto _ : state) {
    auto a = b.vfs->Lookup(b.ctx, dir, "f" + std::to_string(i++ % 1000));
    benchmark::DoNotOptimize(a);
  }
}

void BM_GetAttr(benchmark::State& state) {
  Backend b(SyncPolicy::kBatch);
  InodeId dir = MakeFiles(b, 1000);
  InodeId first = b.vfs->Lookup(b.ctx, dir, "f0")->inode.id;
  int i = 0;
  for (auto _ : state) {
    auto a = b.vfs->GetAttr(first + (i++ % 1000));
    benchmark::DoNotOptimize(a);
  }
}

void BM_Write4K(benchmark::State& state) {
  Backend b(SyncPolicy::kBatch);
  auto o = b.vfs->Create(b.ctx, kRootInode, "big", 0644, O_RDWR);
  std::string block(4096, 'x');
  uint64_t off = 0;
  for (auto _ : state) {
    if (!b.vfs->Write(b.ctx, o->attr.inode.id, o->handle, off, block).ok()) {
      state.SkipWithError("write failed");
    }
    off = (off + 4096) % kFileBytes;
  }
  state.SetBytesProcessed(state.iterations() * 4096);
}

void BM_Read4K(benchmark::State& state) {
  Backend b(SyncPolicy::kBatch);
  auto o = b.vfs->Create(b.ctx, kRootInode, "big", 0644, O_RDWR);
  std::string chunk(1 << 20, 'x');
  for (uint64_t off = 0; off < kFileBytes; off += chunk.size()) {
    (void)b.vfs->Write(b.ctx, o->attr.inode.id, o->handle, off, chunk);
  }
  uint64_t off = 0;
  for (auto _ : state) {
    auto r = b.vfs->Read(b.ctx, o->attr.inode.id, o->handle, off, 4096);
    benchmark::DoNotOptimize(r);
    off = (off + 4096) % kFileBytes;
  }
  state.SetBytesProcessed(state.iterations() * 4096);
}

// ---- the same operations on the native filesystem ----

struct NativeDir {
  NativeDir() : dir(BenchDir()) {}
  ~NativeDir() { std::filesystem::remove_all(dir); }
  std::string Path(int i) const { return dir + "/f" + std::to_string(i); }
  std::string dir;
};

void BM_NativeCreate(benchmark::State& state) {
  NativeDir d;
  int i = 0;
  for (auto _ : state) {
    int fd = open(d.Path(i++).c_str(), O_CREAT | O_EXCL | O_RDWR, 0644);
    if (fd < 0) state.SkipWithError("open failed");
    close(fd);
  }
}

void BM_NativeUnlink(benchmark::State& state) {
  NativeDir d;
  for (int i = 0; i < kFiles; ++i)
    close(open(d.Path(i).c_str(), O_CREAT, 0644));
  int i = 0;
  for (auto _ : state) {
    if (unlink(d.Path(i++).c_str()) != 0) state.SkipWithError("unlink failed");
  }
}

void BM_NativeLookup(benchmark::State& state) {
  NativeDir d;
  for (int i = 0; i < 1000; ++i) close(open(d.Path(i).c_str(), O_CREAT, 0644));
  int dfd = open(d.dir.c_str(), O_DIRECTORY);
  int i = 0;
  struct stat st;
  for (auto _ : state) {
    std::string name = "f" + std::to_string(i++ % 1000);
    benchmark::DoNotOptimize(fstatat(dfd, name.c_str(), &st, 0));
  }
  close(dfd);
}

void BM_NativeGetAttr(benchmark::State& state) {
  NativeDir d;
  std::vector<int> fds;
  for (int i = 0; i < 1000; ++i) {
    fds.push_back(open(d.Path(i).c_str(), O_CREAT | O_RDWR, 0644));
  }
  int i = 0;
  struct stat st;
  for (auto _ : state) benchmark::DoNotOptimize(fstat(fds[i++ % 1000], &st));
  for (int fd : fds) close(fd);
}

void BM_NativeWrite4K(benchmark::State& state) {
  NativeDir d;
  int fd = open(d.Path(0).c_str(), O_CREAT | O_RDWR, 0644);
  std::string block(4096, 'x');
  uint64_t off = 0;
  for (auto _ : state) {
    if (pwrite(fd, block.data(), 4096, off) != 4096) {
      state.SkipWithError("pwrite failed");
    }
    off = (off + 4096) % kFileBytes;
  }
  state.SetBytesProcessed(state.iterations() * 4096);
  close(fd);
}

void BM_NativeRead4K(benchmark::State& state) {
  NativeDir d;
  int fd = open(d.Path(0).c_str(), O_CREAT | O_RDWR, 0644);
  std::string chunk(1 << 20, 'x');
  for (uint64_t off = 0; off < kFileBytes; off += chunk.size()) {
    if (pwrite(fd, chunk.data(), chunk.size(), off) < 0) abort();
  }
  std::string buf(4096, '\0');
  uint64_t off = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(pread(fd, buf.data(), 4096, off));
    off = (off + 4096) % kFileBytes;
  }
  state.SetBytesProcessed(state.iterations() * 4096);
  close(fd);
}

// Create/unlink run a fixed number of times so unlink has files to remove.
BENCHMARK(BM_Create)->Arg(0)->Arg(1)->Iterations(kFiles)->UseRealTime();
BENCHMARK(BM_Unlink)->Arg(0)->Arg(1)->Iterations(kFiles)->UseRealTime();
BENCHMARK(BM_Lookup);
BENCHMARK(BM_GetAttr);
BENCHMARK(BM_Write4K);
BENCHMARK(BM_Read4K);
BENCHMARK(BM_NativeCreate)->Iterations(kFiles)->UseRealTime();
BENCHMARK(BM_NativeUnlink)->Iterations(kFiles)->UseRealTime();
BENCHMARK(BM_NativeLookup);
BENCHMARK(BM_NativeGetAttr);
BENCHMARK(BM_NativeWrite4K);
BENCHMARK(BM_NativeRead4K);

}  // namespace
}  // namespace concordfs

BENCHMARK_MAIN();
