// One conformance suite run against every ContentStore, plus checks of the
// local store's on-disk layout and descriptor cache.
#include "metadata/content_store.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <thread>
#include <vector>

namespace concordfs {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kTiB = uint64_t{1} << 40;

std::string MakeTempDir() {
  std::string tmpl = ::testing::TempDir() + "cfs_content_XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) return {};
  return tmpl;
}

// Every file below `dir`, relative to it (directories excluded).
std::vector<std::string> FilesUnder(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    if (!it->is_directory()) {
      out.push_back(fs::relative(it->path(), dir).string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string SlurpFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

int CountOpenFds() {
  int n = 0;
  std::error_code ec;
  for (fs::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
       it.increment(ec)) {
    ++n;
  }
  return n;
}

// Reads [off, off+len) and returns exactly the bytes the store reported.
std::string ReadBytes(ContentStore& s, InodeId id, uint64_t off, size_t len) {
  std::string buf(len, '\xee');
  Result<size_t> n = s.Read(id, off, len, buf.data());
  EXPECT_TRUE(n.ok()) << n.status().ToString();
  if (!n.ok()) return "<error>";
  EXPECT_LE(*n, len);
  buf.resize(*n);
  return buf;
}

std::vector<InodeId> ListIds(ContentStore& s) {
  std::vector<InodeId> ids;
  Status st = s.ForEachId([&](InodeId id) { ids.push_back(id); });
  EXPECT_TRUE(st.ok()) << st.ToString();
  std::sort(ids.begin(), ids.end());
  return ids;
}

#define ASSERT_OK(expr)                                       \
  do {                                                        \
    ::concordfs::Status _st = (expr);                         \
    ASSERT_TRUE(_st.ok()) << #expr << ": " << _st.ToString(); \
  } while (0)

class ContentStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "local") {
      tmp_ = MakeTempDir();
      ASSERT_FALSE(tmp_.empty());
      store_dir_ = tmp_ + "/store";  // missing on purpose: Open creates it
      auto r = OpenLocalContentStore(store_dir_, /*sync_writes=*/false);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      store_ = std::move(r).value();
    } else {
      store_ = NewMemoryContentStore();
    }
  }
  void TearDown() override {
    store_.reset();
    if (!tmp_.empty()) {
      std::error_code ec;
      fs::remove_all(tmp_, ec);
    }
  }

  bool IsLocal() const { return GetParam() == "local"; }
  ContentStore& s() { return *store_; }
  std::string Read(InodeId id, uint64_t off, size_t len) {
    return ReadBytes(*store_, id, off, len);
  }

  std::string tmp_;
  std::string store_dir_;
  std::unique_ptr<ContentStore> store_;
};

TEST_P(ContentStoreTest, UnwrittenIdHasNoContentAndCreatesNothing) {
  const InodeId id = 0x123f;
  EXPECT_EQ(Read(id, 0, 100), "");
  EXPECT_EQ(s().Seek(id, 0, true).code(), ENXIO);
  EXPECT_EQ(s().Seek(id, 0, false).code(), ENXIO);
  Result<uint64_t> alloc = s().AllocatedBytes(id);
  ASSERT_TRUE(alloc.ok());
  EXPECT_EQ(*alloc, 0u);
  ASSERT_OK(s().Truncate(id, 0));
  ASSERT_OK(s().PunchHole(id, 0, 4096));
  ASSERT_OK(s().Sync(id));
  ASSERT_OK(s().Remove(id));
  ASSERT_OK(s().Write(id, 0, std::string_view()));  // empty write
  EXPECT_EQ(Read(id, 0, 100), "");
  EXPECT_TRUE(ListIds(s()).empty());
  if (IsLocal()) {
    EXPECT_TRUE(FilesUnder(store_dir_).empty());
  }
}

TEST_P(ContentStoreTest, IdFoundEmptyThenWrittenHasItsContent) {
  // The local store remembers ids it found without a file; a later write
  // must make them readable, sized and removable as usual.
  const InodeId id = 0x77;
  Result<uint64_t> none = s().AllocatedBytes(id);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0u);
  EXPECT_EQ(Read(id, 0, 10), "");
  Result<ContentStore::FileRef> before = s().Ref(id);
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(before->fd, -1);
  ASSERT_OK(s().Write(id, 0, std::string(10000, 'z')));
  EXPECT_EQ(Read(id, 9998, 10), "zz");
  Result<uint64_t> used = s().AllocatedBytes(id);
  ASSERT_TRUE(used.ok());
  EXPECT_GT(*used, 0u);
  Result<ContentStore::FileRef> got = s().Ref(id);
  ASSERT_TRUE(got.ok());
  const ContentStore::FileRef ref = *got;
  if (IsLocal()) {
    ASSERT_GE(ref.fd, 0);
    char c = 0;
    EXPECT_EQ(::pread(ref.fd, &c, 1, 5), 1);
    EXPECT_EQ(c, 'z');
  }
  EXPECT_EQ(ListIds(s()), std::vector<InodeId>{id});
  ASSERT_OK(s().Remove(id));
  EXPECT_TRUE(ListIds(s()).empty());
  if (IsLocal()) {
    // The reference still reads the removed file's bytes.
    char c = 0;
    EXPECT_EQ(::pread(ref.fd, &c, 1, 5), 1);
    EXPECT_EQ(c, 'z');
  }
}

TEST_P(ContentStoreTest, WriteReadRoundTrip) {
  ASSERT_OK(s().Write(7, 0, "hello world"));
  EXPECT_EQ(Read(7, 0, 100), "hello world");
  EXPECT_EQ(Read(7, 6, 5), "world");
  ASSERT_OK(s().Write(7, 6, "there"));
  EXPECT_EQ(Read(7, 0, 11), "hello there");
  EXPECT_EQ(ListIds(s()), std::vector<InodeId>{7});
}

TEST_P(ContentStoreTest, ScatterGatherWrite) {
  char a[] = "ab", c[] = "cde", f[] = "fghij";
  struct iovec iov[] = {{a, 2}, {nullptr, 0}, {c, 3}, {f, 5}};
  ASSERT_OK(s().Write(3, 10, iov, 4));
  EXPECT_EQ(Read(3, 0, 100), std::string(10, '\0') + "abcdefghij");

  // More pieces than one pwritev accepts (IOV_MAX is 1024 on Linux).
  std::string expected;
  std::vector<std::string> pieces;
  for (int i = 0; i < 3000; ++i) {
    pieces.push_back(std::string(1 + i % 3, static_cast<char>('a' + i % 26)));
    expected += pieces.back();
  }
  std::vector<struct iovec> many;
  for (std::string& p : pieces) many.push_back({p.data(), p.size()});
  ASSERT_OK(s().Write(4, 0, many.data(), static_cast<int>(many.size())));
  EXPECT_EQ(Read(4, 0, expected.size() + 10), expected);
}

TEST_P(ContentStoreTest, ShortReadAtEnd) {
  ASSERT_OK(s().Write(1, 0, "0123456789"));
  EXPECT_EQ(Read(1, 5, 100), "56789");
  EXPECT_EQ(Read(1, 9, 1), "9");
  EXPECT_EQ(Read(1, 10, 5), "");
  EXPECT_EQ(Read(1, 1000, 5), "");
  EXPECT_EQ(Read(1, std::numeric_limits<uint64_t>::max(), 5), "");
}

TEST_P(ContentStoreTest, HolesReadAsZeros) {
  ASSERT_OK(s().Write(1, 0, "x"));
  ASSERT_OK(s().Write(1, 100000, "y"));
  std::string got = Read(1, 0, 200000);
  ASSERT_EQ(got.size(), 100001u);
  EXPECT_EQ(got, "x" + std::string(99999, '\0') + "y");
  EXPECT_EQ(Read(1, 50000, 3), std::string(3, '\0'));
}

TEST_P(ContentStoreTest, TruncateShrinkAndGrow) {
  ASSERT_OK(s().Write(1, 0, std::string(10000, 'a')));
  ASSERT_OK(s().Truncate(1, 5000));
  EXPECT_EQ(Read(1, 0, 20000), std::string(5000, 'a'));
  // Growing again must not resurrect the discarded bytes.
  ASSERT_OK(s().Truncate(1, 12000));
  EXPECT_EQ(Read(1, 0, 20000),
            std::string(5000, 'a') + std::string(7000, '\0'));
  ASSERT_OK(s().Truncate(1, 0));
  EXPECT_EQ(Read(1, 0, 100), "");
  // Truncating to zero empties the content but only Remove() drops it.
  EXPECT_EQ(ListIds(s()), std::vector<InodeId>{1});

  ASSERT_OK(s().Truncate(2, 8192));  // growing a missing id creates it
  EXPECT_EQ(Read(2, 0, 10000), std::string(8192, '\0'));
  EXPECT_EQ(ListIds(s()), (std::vector<InodeId>{1, 2}));
}

TEST_P(ContentStoreTest, AllocatedBytesFollowsEveryChange) {
  // The local store remembers answers; each change must be seen at once.
  auto alloc = [&] {
    Result<uint64_t> a = s().AllocatedBytes(3);
    EXPECT_TRUE(a.ok());
    return a.ok() ? *a : 0;
  };
  ASSERT_OK(s().Write(3, 0, std::string(4096, 'a')));
  uint64_t one = alloc();
  EXPECT_GE(one, 4096u);
  EXPECT_EQ(alloc(), one);  // asked again, unchanged
  ASSERT_OK(s().Write(3, 4096, std::string(64 * 1024, 'b')));
  uint64_t more = alloc();
  EXPECT_GE(more, one + 64 * 1024);
  ASSERT_OK(s().Sync(3));
  ASSERT_OK(s().PunchHole(3, 8192, 32 * 1024));
  uint64_t punched = alloc();
  EXPECT_LT(punched, more);
  ASSERT_OK(s().Allocate(3, 0, 256 * 1024));
  if (IsLocal()) {  // the memory store keeps holes
    EXPECT_GE(alloc(), 256u * 1024);
  }
  ASSERT_OK(s().Truncate(3, 0));
  EXPECT_EQ(alloc(), 0u);
  ASSERT_OK(s().Write(3, 0, std::string(4096, 'c')));
  EXPECT_GE(alloc(), 4096u);
  ASSERT_OK(s().Remove(3));
  EXPECT_EQ(alloc(), 0u);
}

TEST_P(ContentStoreTest, PunchHoleKeepsLengthAndZeroes) {
  const size_t kLen = 64 * 1024;
  ASSERT_OK(s().Write(1, 0, std::string(kLen, 'z')));
  ASSERT_OK(s().Sync(1));
  Result<uint64_t> before = s().AllocatedBytes(1);
  ASSERT_TRUE(before.ok());
  EXPECT_GE(*before, kLen);

  ASSERT_OK(s().PunchHole(1, 4096, 8192));
  std::string want(kLen, 'z');
  std::fill(want.begin() + 4096, want.begin() + 12288, '\0');
  EXPECT_EQ(Read(1, 0, 2 * kLen), want);
  Result<uint64_t> after = s().AllocatedBytes(1);
  ASSERT_TRUE(after.ok());
  EXPECT_LT(*after, *before);

  ASSERT_OK(s().PunchHole(1, 100, 50));  // unaligned
  std::fill(want.begin() + 100, want.begin() + 150, '\0');
  EXPECT_EQ(Read(1, 0, 2 * kLen), want);

  ASSERT_OK(s().PunchHole(1, 60000, uint64_t{1} << 20));  // past the end
  std::fill(want.begin() + 60000, want.end(), '\0');
  EXPECT_EQ(Read(1, 0, 2 * kLen), want);

  ASSERT_OK(s().PunchHole(1, 0, std::numeric_limits<uint64_t>::max()));
  EXPECT_EQ(Read(1, 0, 2 * kLen), std::string(kLen, '\0'));
}

TEST_P(ContentStoreTest, SeekDataHoleAndEnd) {
  ASSERT_OK(s().Write(1, 0, "abc"));
  auto seek = [&](uint64_t off, bool data) {
    Result<uint64_t> r = s().Seek(1, off, data);
    return r.ok() ? static_cast<int64_t>(*r) : -r.code();
  };
  EXPECT_EQ(seek(0, true), 0);
  EXPECT_EQ(seek(2, true), 2);
  EXPECT_EQ(seek(0, false), 3);
  EXPECT_EQ(seek(2, false), 3);
  EXPECT_EQ(seek(3, true), -ENXIO);
  EXPECT_EQ(seek(3, false), -ENXIO);
  EXPECT_EQ(seek(kTiB, true), -ENXIO);
  EXPECT_EQ(seek(std::numeric_limits<uint64_t>::max(), false), -ENXIO);
}

TEST_P(ContentStoreTest, RemoveDropsContent) {
  ASSERT_OK(s().Write(5, 0, "old content"));
  ASSERT_OK(s().Write(6, 0, "other"));
  ASSERT_OK(s().Remove(5));
  EXPECT_EQ(Read(5, 0, 100), "");
  EXPECT_EQ(s().Seek(5, 0, true).code(), ENXIO);
  Result<uint64_t> alloc = s().AllocatedBytes(5);
  ASSERT_TRUE(alloc.ok());
  EXPECT_EQ(*alloc, 0u);
  EXPECT_EQ(ListIds(s()), std::vector<InodeId>{6});
  ASSERT_OK(s().Remove(5));  // again: nothing there, still fine

  ASSERT_OK(s().Write(5, 0, "new"));
  EXPECT_EQ(Read(5, 0, 100), "new");
  EXPECT_EQ(Read(6, 0, 100), "other");
  EXPECT_EQ(ListIds(s()), (std::vector<InodeId>{5, 6}));
}

TEST_P(ContentStoreTest, ConcurrentWritersToDifferentIds) {
  constexpr int kThreads = 8;
  constexpr int kBlocks = 200;
  constexpr size_t kBlock = 1024;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, t] {
      const InodeId id = 100 + t;
      for (int i = 0; i < kBlocks; ++i) {
        std::string block(kBlock, static_cast<char>('A' + (t + i) % 26));
        Status st = s().Write(id, i * kBlock, block);
        EXPECT_TRUE(st.ok()) << st.ToString();
        if (i % 16 == 0) {
          EXPECT_EQ(ReadBytes(s(), id, i * kBlock, kBlock), block);
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();

  std::vector<InodeId> want;
  for (int t = 0; t < kThreads; ++t) {
    want.push_back(100 + t);
    std::string expected;
    for (int i = 0; i < kBlocks; ++i) {
      expected += std::string(kBlock, static_cast<char>('A' + (t + i) % 26));
    }
    EXPECT_EQ(Read(100 + t, 0, kBlocks * kBlock + 1), expected) << t;
  }
  EXPECT_EQ(ListIds(s()), want);
}

TEST_P(ContentStoreTest, LargeSparseOffset) {
  ASSERT_OK(s().Write(9, kTiB, "tail"));
  EXPECT_EQ(Read(9, kTiB, 10), "tail");
  EXPECT_EQ(Read(9, kTiB - 4, 8), std::string(4, '\0') + "tail");
  EXPECT_EQ(Read(9, 12345, 3), std::string(3, '\0'));
  Result<uint64_t> data = s().Seek(9, kTiB, true);
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  EXPECT_EQ(*data, kTiB);
  Result<uint64_t> hole = s().Seek(9, kTiB, false);
  ASSERT_TRUE(hole.ok()) << hole.status().ToString();
  EXPECT_EQ(*hole, kTiB + 4);
  EXPECT_EQ(s().Seek(9, kTiB + 4, true).code(), ENXIO);
  Result<uint64_t> alloc = s().AllocatedBytes(9);
  ASSERT_TRUE(alloc.ok());
  EXPECT_LT(*alloc, uint64_t{1} << 20);  // sparse, not a terabyte

  ASSERT_OK(s().Truncate(9, 2 * kTiB));
  EXPECT_EQ(Read(9, 2 * kTiB - 1, 10), std::string(1, '\0'));
  EXPECT_EQ(Read(9, kTiB, 4), "tail");
}

TEST_P(ContentStoreTest, OverflowingOffsetsAreEfbig) {
  constexpr uint64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr uint64_t kU64Max = std::numeric_limits<uint64_t>::max();
  EXPECT_EQ(s().Write(1, kU64Max - 1, "abcd").code(), EFBIG);
  EXPECT_EQ(s().Write(1, uint64_t{1} << 63, "a").code(), EFBIG);
  EXPECT_EQ(s().Write(1, kMax, "a").code(), EFBIG);
  // The lengths alone overflow; the bases must never be touched.
  char dummy = 0;
  struct iovec iov[] = {{&dummy, kU64Max / 2 + 1}, {&dummy, kU64Max / 2 + 1}};
  EXPECT_EQ(s().Write(1, 0, iov, 2).code(), EFBIG);
  EXPECT_EQ(s().Truncate(1, uint64_t{1} << 63).code(), EFBIG);
  EXPECT_EQ(s().Allocate(1, kU64Max - 10, 100).code(), EFBIG);
  EXPECT_EQ(Read(1, 0, 10), "");
  EXPECT_TRUE(ListIds(s()).empty());
}

TEST_P(ContentStoreTest, ForEachIdListsExactlyTheIdsWithContent) {
  const std::vector<InodeId> written = {
      1, 2, 0xff, 0x100, 0x123f, kTiB, std::numeric_limits<uint64_t>::max()};
  for (InodeId id : written) ASSERT_OK(s().Write(id, 0, "x"));
  ASSERT_OK(s().Truncate(77, 10));
  ASSERT_OK(s().Write(88, 0, "gone"));
  ASSERT_OK(s().Remove(88));
  ASSERT_OK(s().Truncate(99, 0));  // creates nothing
  std::vector<InodeId> want = written;
  want.push_back(77);
  std::sort(want.begin(), want.end());
  EXPECT_EQ(ListIds(s()), want);
}

TEST_P(ContentStoreTest, AllocateExtendsWithZeros) {
  ASSERT_OK(s().Allocate(1, 0, 8192));
  EXPECT_EQ(Read(1, 0, 10000), std::string(8192, '\0'));
  ASSERT_OK(s().Write(1, 100, "data"));
  ASSERT_OK(s().Allocate(1, 0, 10));  // inside: length unchanged
  EXPECT_EQ(Read(1, 0, 10000).size(), 8192u);
  EXPECT_EQ(Read(1, 100, 4), "data");
  ASSERT_OK(s().Allocate(2, 0, 0));  // empty range creates nothing
  EXPECT_EQ(ListIds(s()), std::vector<InodeId>{1});
}

TEST_P(ContentStoreTest, SpaceAndDescribe) {
  Result<ContentSpace> sp = s().Space();
  ASSERT_TRUE(sp.ok()) << sp.status().ToString();
  EXPECT_GT(sp->total_bytes, 0u);
  EXPECT_LE(sp->free_bytes, sp->total_bytes);
  EXPECT_LE(sp->avail_bytes, sp->free_bytes);
  EXPECT_GT(sp->block_size, 0u);
  EXPECT_FALSE(s().Describe().empty());
}

INSTANTIATE_TEST_SUITE_P(AllStores, ContentStoreTest,
                         ::testing::Values("local", "memory"),
                         [](const auto& info) { return info.param; });

// ---- local store only ----

class LocalContentStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_ = MakeTempDir();
    ASSERT_FALSE(tmp_.empty());
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(tmp_, ec);
  }
  std::unique_ptr<ContentStore> Open(const std::string& dir,
                                     size_t max_fds = 1024,
                                     bool sync_writes = false) {
    auto r = OpenLocalContentStore(dir, sync_writes, max_fds);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(r).value() : nullptr;
  }

  std::string tmp_;
};

TEST_F(LocalContentStoreTest, FanOutLayoutCreatedOnFirstWrite) {
  auto s = Open(tmp_);
  ASSERT_TRUE(s);
  ASSERT_OK(s->Truncate(0x123f, 0));
  EXPECT_TRUE(FilesUnder(tmp_).empty());
  EXPECT_FALSE(fs::exists(tmp_ + "/3f"));
  ASSERT_OK(s->Write(0x123f, 0, "x"));
  EXPECT_EQ(FilesUnder(tmp_), std::vector<std::string>{"3f/000000000000123f"});
  EXPECT_EQ(SlurpFile(tmp_ + "/3f/000000000000123f"), "x");
}

TEST_F(LocalContentStoreTest, FdCacheEvictionStillReadsRight) {
  const int fds_before = CountOpenFds();
  auto s = Open(tmp_, /*max_fds=*/2);
  ASSERT_TRUE(s);
  auto content = [](int i, int round) {
    return "file " + std::to_string(i) + " round " + std::to_string(round);
  };
  for (int i = 0; i < 10; ++i) ASSERT_OK(s->Write(i + 1, 0, content(i, 0)));
  for (int i = 9; i >= 0; --i)
    EXPECT_EQ(ReadBytes(*s, i + 1, 0, 100), content(i, 0));
  for (int i = 0; i < 10; i += 3) {
    ASSERT_OK(s->Truncate(i + 1, 0));
    ASSERT_OK(s->Write(i + 1, 0, content(i, 1)));
  }
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(ReadBytes(*s, i + 1, 0, 100), content(i, i % 3 == 0 ? 1 : 0));
  }
  EXPECT_LE(CountOpenFds() - fds_before, 2);
  EXPECT_EQ(ListIds(*s).size(), 10u);
}

TEST_F(LocalContentStoreTest, ForEachIdIgnoresForeignNames) {
  auto s = Open(tmp_);
  ASSERT_TRUE(s);
  ASSERT_OK(s->Write(0x123f, 0, "a"));
  ASSERT_OK(s->Write(0x500, 0, "b"));
  std::ofstream(tmp_ + "/3f/notanid") << "junk";
  std::ofstream(tmp_ + "/3f/000000000000123") << "15 digits";
  std::ofstream(tmp_ + "/3f/000000000000123F") << "upper case";
  std::ofstream(tmp_ + "/3f/000000000000123f.tmp") << "suffix";
  std::ofstream(tmp_ + "/README") << "top-level file";
  std::ofstream(tmp_ + "/ab") << "file named like a fan-out dir";
  fs::create_directories(tmp_ + "/zz");
  std::ofstream(tmp_ + "/zz/0000000000000001") << "not a fan-out dir";
  fs::create_directories(tmp_ + "/01/0000000000000101");  // a directory
  EXPECT_EQ(ListIds(*s), (std::vector<InodeId>{0x500, 0x123f}));
}

TEST_F(LocalContentStoreTest, CreatesMissingDirectory) {
  const std::string dir = tmp_ + "/a/b/c";
  auto s = Open(dir);
  ASSERT_TRUE(s);
  EXPECT_TRUE(fs::is_directory(dir));
  ASSERT_OK(s->Write(1, 0, "ok"));
  EXPECT_EQ(SlurpFile(dir + "/01/0000000000000001"), "ok");

  std::ofstream(tmp_ + "/plain") << "not a directory";
  EXPECT_FALSE(OpenLocalContentStore(tmp_ + "/plain", false).ok());
  EXPECT_FALSE(OpenLocalContentStore(tmp_ + "/plain/sub", false).ok());
  EXPECT_FALSE(OpenLocalContentStore("", false).ok());
}

TEST_F(LocalContentStoreTest, RemoveDropsCachedDescriptor) {
  auto s = Open(tmp_);
  ASSERT_TRUE(s);
  const std::string path = tmp_ + "/2a/000000000000002a";
  ASSERT_OK(s->Write(0x2a, 0, "first version"));
  ASSERT_OK(s->Remove(0x2a));
  EXPECT_FALSE(fs::exists(path));
  // A stale cached descriptor would write into the unlinked file.
  ASSERT_OK(s->Write(0x2a, 0, "new"));
  EXPECT_EQ(SlurpFile(path), "new");
}

TEST_F(LocalContentStoreTest, SyncWritesStore) {
  auto s = Open(tmp_, 1024, /*sync_writes=*/true);
  ASSERT_TRUE(s);
  ASSERT_OK(s->Write(3, 0, "durable"));
  ASSERT_OK(s->Sync(3));
  EXPECT_EQ(ReadBytes(*s, 3, 0, 100), "durable");
  EXPECT_NE(s->Describe().find(tmp_), std::string::npos);
}

TEST_F(LocalContentStoreTest, SeekSkipsRealHoles) {
  auto s = Open(tmp_);
  ASSERT_TRUE(s);
  const uint64_t kOff = uint64_t{1} << 20;
  ASSERT_OK(s->Write(1, kOff, std::string(4096, 'd')));
  ASSERT_OK(s->Sync(1));
  Result<uint64_t> data = s->Seek(1, 0, true);
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  if (*data == 0) GTEST_SKIP() << "filesystem does not report holes";
  EXPECT_EQ(*data, kOff);
  Result<uint64_t> hole = s->Seek(1, 0, false);
  ASSERT_TRUE(hole.ok());
  EXPECT_EQ(*hole, 0u);
}

TEST_F(LocalContentStoreTest, ConcurrentThroughTinyCache) {
  auto s = Open(tmp_, /*max_fds=*/2);
  ASSERT_TRUE(s);
  constexpr int kThreads = 6;
  constexpr int kRounds = 300;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&s, t] {
      const InodeId id = t + 1;
      for (int i = 0; i < kRounds; ++i) {
        std::string v = std::to_string(t) + ":" + std::to_string(i);
        // Thread 0 also recreates its file to race Remove with the cache.
        if (t == 0 && i % 5 == 0) {
          EXPECT_TRUE(s->Remove(id).ok());
        }
        EXPECT_TRUE(s->Truncate(id, 0).ok());
        EXPECT_TRUE(s->Write(id, 0, v).ok());
        EXPECT_EQ(ReadBytes(*s, id, 0, 100), v);
      }
    });
  }
  for (std::thread& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(ReadBytes(*s, t + 1, 0, 100),
              std::to_string(t) + ":" + std::to_string(kRounds - 1));
  }
}

}  // namespace
}  // namespace concordfs
