// Exports: client patterns, credential squashing, path normalization, and
// ExportTable over an in-memory backend.
#include "rpc/exports.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "metadata/content_store.h"
#include "metadata/metadata_store.h"

namespace concordfs::rpc {
namespace {

Peer P(const char* text) {
  Peer p;
  EXPECT_TRUE(Peer::Parse(text, 700, &p)) << text;
  return p;
}

Export WithClients(std::vector<std::string> clients) {
  Export e;
  e.opts.clients = std::move(clients);
  return e;
}

TEST(ClientPattern, ValidPatterns) {
  for (const char* p :
       {"*", "10.0.0.0/8", "10.1.2.3", "10.1.2.3/32", "0.0.0.0/0", "::1",
        "fd00::/8", "2001:db8::/32", "::/0", "::1/128"}) {
    std::string why;
    EXPECT_TRUE(ValidClientPattern(p, &why)) << p << ": " << why;
  }
}

TEST(ClientPattern, InvalidPatternsSayWhy) {
  for (const char* p :
       {"", "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/abc",
        "10.0.0.0/8/9", "10.0.0.0/-1", "10.0.0.0/0008", "host.example",
        "*.example.com", "10.0.0", "10.0.0.0 /8", "**"}) {
    std::string why;
    EXPECT_FALSE(ValidClientPattern(p, &why)) << "'" << p << "' accepted";
    EXPECT_FALSE(why.empty()) << p;
  }
}

TEST(AllowsClient, Ipv4Cidr) {
  Export e = WithClients({"192.168.1.0/24"});
  EXPECT_TRUE(e.AllowsClient(P("192.168.1.77")));
  EXPECT_TRUE(e.AllowsClient(P("192.168.1.0")));
  EXPECT_TRUE(e.AllowsClient(P("192.168.1.255")));
  EXPECT_FALSE(e.AllowsClient(P("192.168.2.1")));
  EXPECT_FALSE(e.AllowsClient(P("10.0.0.1")));
  EXPECT_FALSE(e.AllowsClient(P("::1")));
  // An IPv4 client reaching an IPv6 socket.
  EXPECT_TRUE(e.AllowsClient(P("::ffff:192.168.1.5")));
  Peer raw_mapped;  // not unmapped by Parse: built by hand
  raw_mapped.family = AF_INET6;
  raw_mapped.addr[10] = raw_mapped.addr[11] = 0xff;
  raw_mapped.addr[12] = 192;
  raw_mapped.addr[13] = 168;
  raw_mapped.addr[14] = 1;
  raw_mapped.addr[15] = 9;
  EXPECT_TRUE(e.AllowsClient(raw_mapped));
}

TEST(AllowsClient, PrefixNotOnAByteBoundary) {
  Export e = WithClients({"10.0.0.0/13"});  // 10.0.0.0 - 10.7.255.255
  EXPECT_TRUE(e.AllowsClient(P("10.7.255.255")));
  EXPECT_FALSE(e.AllowsClient(P("10.8.0.0")));
  Export e2 = WithClients({"172.16.5.4/30"});
  EXPECT_TRUE(e2.AllowsClient(P("172.16.5.7")));
  EXPECT_FALSE(e2.AllowsClient(P("172.16.5.8")));
  EXPECT_FALSE(e2.AllowsClient(P("172.16.5.3")));
}

TEST(AllowsClient, ExactAddresses) {
  Export e = WithClients({"10.1.2.3", "::1"});
  EXPECT_TRUE(e.AllowsClient(P("10.1.2.3")));
  EXPECT_FALSE(e.AllowsClient(P("10.1.2.4")));
  EXPECT_TRUE(e.AllowsClient(P("::1")));
  EXPECT_FALSE(e.AllowsClient(P("::2")));
  EXPECT_FALSE(e.AllowsClient(P("127.0.0.1")));
}

TEST(AllowsClient, Ipv6Cidr) {
  Export e = WithClients({"fd00::/8", "2001:db8:1::/48"});
  EXPECT_TRUE(e.AllowsClient(P("fd12::1")));
  EXPECT_FALSE(e.AllowsClient(P("fe80::1")));
  EXPECT_TRUE(e.AllowsClient(P("2001:db8:1:ffff::1")));
  EXPECT_FALSE(e.AllowsClient(P("2001:db8:2::1")));
  EXPECT_FALSE(e.AllowsClient(P("10.0.0.1")));
}

TEST(AllowsClient, StarAllowsEveryone) {
  Export e = WithClients({"*"});
  EXPECT_TRUE(e.AllowsClient(P("1.2.3.4")));
  EXPECT_TRUE(e.AllowsClient(P("2001:db8::1")));
}

TEST(AllowsClient, ZeroPrefixAllowsOneFamily) {
  Export e = WithClients({"0.0.0.0/0"});
  EXPECT_TRUE(e.AllowsClient(P("203.0.113.9")));
  EXPECT_FALSE(e.AllowsClient(P("2001:db8::1")));
}

TEST(AllowsClient, NobodyWithoutPatternsAndBadPatternsMatchNothing) {
  EXPECT_FALSE(WithClients({}).AllowsClient(P("127.0.0.1")));
  Export e = WithClients({"garbage", "10.0.0.0/99", ""});
  EXPECT_FALSE(e.AllowsClient(P("10.0.0.1")));
  EXPECT_FALSE(e.AllowsClient(P("0.0.0.0")));
}

TEST(AllowsClient, DefaultOptionsAllowOnlyLoopback) {
  Export e;
  EXPECT_TRUE(e.AllowsClient(P("127.0.0.1")));
  EXPECT_TRUE(e.AllowsClient(P("127.9.9.9")));
  EXPECT_TRUE(e.AllowsClient(P("::1")));
  EXPECT_FALSE(e.AllowsClient(P("10.0.0.1")));
}

// ---- credentials ----

CallHeader Sys(uint32_t uid, uint32_t gid, std::vector<uint32_t> gids) {
  CallHeader h;
  h.flavor = kAuthSys;
  AuthSys s;
  s.uid = uid;
  s.gid = gid;
  s.gids = std::move(gids);
  h.sys = s;
  return h;
}

Export Squashing(Squash s, uint32_t anonuid = 65534, uint32_t anongid = 65534) {
  Export e;
  e.opts.squash = s;
  e.opts.anonuid = anonuid;
  e.opts.anongid = anongid;
  return e;
}

TEST(MapCredential, SquashNoneKeepsEverything) {
  Credential c = Squashing(Squash::kNone).MapCredential(Sys(0, 0, {0, 5}));
  EXPECT_EQ(0u, c.uid);
  EXPECT_EQ(0u, c.gid);
  EXPECT_EQ((std::vector<uint32_t>{0, 5}), c.groups);
  c = Squashing(Squash::kNone).MapCredential(Sys(1000, 100, {7}));
  EXPECT_EQ(1000u, c.uid);
  EXPECT_EQ(100u, c.gid);
  EXPECT_EQ((std::vector<uint32_t>{7}), c.groups);
}

TEST(MapCredential, SquashRootMapsRootAndDropsGroupZero) {
  Export e = Squashing(Squash::kRoot, 4000, 4001);
  Credential c = e.MapCredential(Sys(0, 0, {0, 5, 0, 7}));
  EXPECT_EQ(4000u, c.uid);
  EXPECT_EQ(4001u, c.gid);
  EXPECT_EQ((std::vector<uint32_t>{5, 7}), c.groups);
  EXPECT_FALSE(c.InGroup(0));
  // A non-root user in group 0 loses group 0 too.
  c = e.MapCredential(Sys(1000, 0, {0, 10}));
  EXPECT_EQ(1000u, c.uid);
  EXPECT_EQ(4001u, c.gid);
  EXPECT_EQ((std::vector<uint32_t>{10}), c.groups);
  // Root with another primary group: only the uid changes.
  c = e.MapCredential(Sys(0, 50, {51}));
  EXPECT_EQ(4000u, c.uid);
  EXPECT_EQ(50u, c.gid);
  EXPECT_EQ((std::vector<uint32_t>{51}), c.groups);
  // Ordinary users are untouched.
  c = e.MapCredential(Sys(1000, 100, {100, 200}));
  EXPECT_EQ(1000u, c.uid);
  EXPECT_EQ(100u, c.gid);
  EXPECT_EQ((std::vector<uint32_t>{100, 200}), c.groups);
}

TEST(MapCredential, SquashAllMapsEveryone) {
  Export e = Squashing(Squash::kAll, 4000, 4001);
  for (const CallHeader& h : {Sys(0, 0, {0}), Sys(1000, 100, {1, 2})}) {
    Credential c = e.MapCredential(h);
    EXPECT_EQ(4000u, c.uid);
    EXPECT_EQ(4001u, c.gid);
    EXPECT_TRUE(c.groups.empty());
  }
}

TEST(MapCredential, AuthNoneIsAnonymousWhateverTheSquash) {
  CallHeader none;
  none.flavor = kAuthNone;
  for (Squash s : {Squash::kNone, Squash::kRoot, Squash::kAll}) {
    Credential c = Squashing(s, 4000, 4001).MapCredential(none);
    EXPECT_EQ(4000u, c.uid) << SquashName(s);
    EXPECT_EQ(4001u, c.gid) << SquashName(s);
    EXPECT_TRUE(c.groups.empty());
    EXPECT_FALSE(c.is_root());
  }
}

TEST(Squash, ParsesAndNames) {
  Squash s = Squash::kNone;
  ASSERT_TRUE(ParseSquash("all", &s));
  EXPECT_EQ(Squash::kAll, s);
  ASSERT_TRUE(ParseSquash("root", &s));
  EXPECT_EQ(Squash::kRoot, s);
  ASSERT_TRUE(ParseSquash("none", &s));
  EXPECT_EQ(Squash::kNone, s);
  EXPECT_FALSE(ParseSquash("Root", &s));
  EXPECT_FALSE(ParseSquash("", &s));
  EXPECT_STREQ("root", SquashName(Squash::kRoot));
  EXPECT_STREQ("all", SquashName(Squash::kAll));
  EXPECT_STREQ("none", SquashName(Squash::kNone));
}

// ---- paths ----

TEST(NormalizeExportPath, Normalizes) {
  struct {
    const char* in;
    const char* out;
  } cases[] = {{"", "/"},
               {"/", "/"},
               {"///", "/"},
               {"/a", "/a"},
               {"/a/", "/a"},
               {"a/b", "/a/b"},
               {"/a//b/", "/a/b"},
               {"//a///b//c", "/a/b/c"},
               {"/a/..b", "/a/..b"},
               {"/...", "/..."},
               {"/.a/b.", "/.a/b."}};
  for (const auto& c : cases) {
    std::string out = "junk";
    ASSERT_TRUE(NormalizeExportPath(c.in, &out)) << c.in;
    EXPECT_EQ(c.out, out) << "'" << c.in << "'";
  }
}

TEST(NormalizeExportPath, RejectsDotAndDotDot) {
  for (const char* in : {".", "..", "/.", "/..", "/a/./b", "/a/../b", "/a/..",
                         "../a", "/a/b/./"}) {
    std::string out;
    EXPECT_FALSE(NormalizeExportPath(in, &out)) << "'" << in << "' accepted";
  }
}

// ---- ExportTable over the in-memory backend ----

class ExportTableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    md_ = NewMemoryStore();
    content_ = NewMemoryContentStore();
    ASSERT_TRUE(md_->Initialize(0, 0, 0755).ok());
    vfs_ = std::make_unique<Vfs>(md_.get(), content_.get());
    ASSERT_TRUE(vfs_->Recover().ok());
    OpContext root;
    auto data = vfs_->Mkdir(root, kRootInode, "data", 0755);
    ASSERT_TRUE(data.ok());
    data_ = data->inode.id;
    auto sub = vfs_->Mkdir(root, data_, "sub", 0755);
    ASSERT_TRUE(sub.ok());
    sub_ = sub->inode.id;
    ASSERT_TRUE(vfs_->Mknod(root, kRootInode, "file", S_IFREG | 0644, 0).ok());
  }
  ExportOptions At(std::string path) {
    ExportOptions o;
    o.path = std::move(path);
    return o;
  }

  std::unique_ptr<MetadataStore> md_;
  std::unique_ptr<ContentStore> content_;
  std::unique_ptr<Vfs> vfs_;
  InodeId data_ = kInvalidInode, sub_ = kInvalidInode;
};

TEST_F(ExportTableTest, ResolvesPathsAndFindsExports) {
  auto t = ExportTable::Build(vfs_.get(), {At("/"), At("/data//sub/")});
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ASSERT_EQ(2u, t->exports().size());
  const Export& root = t->exports()[0];
  const Export& sub = t->exports()[1];
  EXPECT_EQ("/", root.path);
  EXPECT_EQ(kRootInode, root.root);
  EXPECT_EQ("/data/sub", sub.path);
  EXPECT_EQ(sub_, sub.root);
  EXPECT_NE(0u, root.id);
  EXPECT_NE(root.id, sub.id);
  EXPECT_EQ(&root, t->FindById(root.id));
  EXPECT_EQ(&sub, t->FindById(sub.id));
  EXPECT_EQ(nullptr, t->FindById(root.id ^ sub.id ^ 1));

  std::string rest = "junk";
  EXPECT_EQ(&sub, t->FindForPath("/data/sub/x/y", &rest));
  EXPECT_EQ("x/y", rest);
  EXPECT_EQ(&sub, t->FindForPath("/data/sub", &rest));
  EXPECT_EQ("", rest);
  EXPECT_EQ(&sub, t->FindForPath("data//sub/", &rest));
  EXPECT_EQ("", rest);
  EXPECT_EQ(&root, t->FindForPath("/data/subx", &rest));
  EXPECT_EQ("data/subx", rest);
  EXPECT_EQ(&root, t->FindForPath("/", &rest));
  EXPECT_EQ("", rest);
  EXPECT_EQ(nullptr, t->FindForPath("/data/../etc", &rest));
}

TEST_F(ExportTableTest, WithoutARootExportOtherPathsAreNotFound) {
  auto t = ExportTable::Build(vfs_.get(), {At("/data")});
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  std::string rest;
  EXPECT_EQ(nullptr, t->FindForPath("/", &rest));
  EXPECT_EQ(nullptr, t->FindForPath("/dat", &rest));
  EXPECT_EQ(nullptr, t->FindForPath("/database", &rest));
  ASSERT_NE(nullptr, t->FindForPath("/data/sub", &rest));
  EXPECT_EQ("sub", rest);
}

TEST_F(ExportTableTest, IdsAreStableAcrossBuilds) {
  auto a = ExportTable::Build(vfs_.get(), {At("/data"), At("/")});
  auto b = ExportTable::Build(vfs_.get(), {At("/"), At("/data/")});
  ASSERT_TRUE(a.ok() && b.ok());
  std::string ra, rb;
  EXPECT_EQ(a->FindForPath("/data", &ra)->id, b->FindForPath("/data", &rb)->id);
  EXPECT_EQ(a->FindForPath("/", &ra)->id, b->FindForPath("/", &rb)->id);
}

TEST_F(ExportTableTest, RejectsBadExports) {
  auto missing = ExportTable::Build(vfs_.get(), {At("/nope")});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(ENOENT, missing.code());
  auto file = ExportTable::Build(vfs_.get(), {At("/file")});
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(ENOTDIR, file.code());
  auto twice = ExportTable::Build(vfs_.get(), {At("/data"), At("/data/")});
  EXPECT_FALSE(twice.ok());
  auto dots = ExportTable::Build(vfs_.get(), {At("/data/../data")});
  EXPECT_FALSE(dots.ok());
  auto under_file = ExportTable::Build(vfs_.get(), {At("/file/x")});
  EXPECT_FALSE(under_file.ok());
}

// ---- reloads: what changed, and the swappable table ----

TEST_F(ExportTableTest, DescribesExportChangesByPath) {
  ExportOptions ro = At("/data/sub/");
  ro.read_only = true;
  auto before = ExportTable::Build(vfs_.get(), {At("/"), At("/data")});
  auto same = ExportTable::Build(vfs_.get(), {At("/data/"), At("//")});
  auto after = ExportTable::Build(vfs_.get(), {At("/"), ro});
  ASSERT_TRUE(before.ok() && same.ok() && after.ok());
  // Order and spelling of paths do not matter.
  EXPECT_TRUE(DescribeExportChanges(*before, *same).empty());
  EXPECT_EQ(DescribeExportChanges(*before, *after),
            (std::vector<std::string>{
                "export /data removed (its file handles are now stale)",
                "export /data/sub added: /data/sub to 127.0.0.0/8,::1 (ro, "
                "squash root to 65534:65534)"}));
  ExportOptions changed = At("/");
  changed.clients = {"10.0.0.0/8"};
  changed.squash = Squash::kNone;
  changed.secure = true;
  auto next = ExportTable::Build(vfs_.get(), {changed, ro});
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(DescribeExportChanges(*after, *next),
            (std::vector<std::string>{
                "export / changed: / to 10.0.0.0/8 (rw, squash none, "
                "secure), was / to 127.0.0.0/8,::1 (rw, squash root to "
                "65534:65534)"}));
  EXPECT_EQ(next->Options()[0], changed);
}

TEST_F(ExportTableTest, RegistrySwapsTablesAndKeepsOldOnesValid) {
  auto first = ExportTable::Build(vfs_.get(), {At("/data")});
  ASSERT_TRUE(first.ok());
  ExportRegistry reg(std::move(*first));
  const ExportTable& t1 = reg.Current();
  std::string rest;
  const Export* data = t1.FindForPath("/data", &rest);
  ASSERT_NE(nullptr, data);
  const uint32_t data_id = data->id;

  auto second = ExportTable::Build(vfs_.get(), {At("/data/sub")});
  ASSERT_TRUE(second.ok());
  reg.Replace(std::move(*second));
  // New calls see the new table: /data is gone, its handles' id unknown.
  EXPECT_EQ(nullptr, reg.Current().FindById(data_id));
  EXPECT_EQ(nullptr, reg.Current().FindForPath("/data", &rest));
  EXPECT_NE(nullptr, reg.Current().FindForPath("/data/sub", &rest));
  // A call still running with the old table keeps a valid export.
  EXPECT_EQ(data, t1.FindById(data_id));
  EXPECT_EQ("/data", data->path);
  EXPECT_EQ(data_, data->root);
}

TEST_F(ExportTableTest, RegistryReadersRunWhileTablesAreReplaced) {
  auto a = ExportTable::Build(vfs_.get(), {At("/"), At("/data")});
  ASSERT_TRUE(a.ok());
  const uint32_t root_id = a->exports()[0].id;
  ExportRegistry reg(std::move(*a));
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 2; ++i) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        const ExportTable& t = reg.Current();
        // Every table has the root export; /data comes and goes.
        const Export* x = t.FindById(root_id);
        if (x == nullptr || x->path != "/" || t.exports().empty()) ++bad;
      }
    });
  }
  for (int i = 0; i < 200; ++i) {
    std::vector<ExportOptions> opts = {At("/")};
    if (i % 2) opts.push_back(At("/data"));
    auto t = ExportTable::Build(vfs_.get(), opts);
    ASSERT_TRUE(t.ok());
    reg.Replace(std::move(*t));
  }
  stop = true;
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(0, bad.load());
}

}  // namespace
}  // namespace concordfs::rpc
