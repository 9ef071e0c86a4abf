// The admin socket's commands on a real Backend (memory store) and lock
// manager, and the socket itself: permissions, stale files, malformed
// requests.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <filesystem>

#include "daemon/admin_handlers.h"
#include "daemon/admin_server.h"
#include "daemon/backend.h"

namespace concordfs {
namespace {

using admin::Json;
using locking::LockMode;
using locking::LockRequest;
using locking::LockResult;
using locking::LockStatus;
using locking::Owner;
using locking::Protocol;

class AdminTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cfs-admin-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    Result<Config> c = ParseConfig("store: memory\n", "t", dir_);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    auto b = Backend::Open(*c);
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    backend_ = std::move(*b);
    ASSERT_TRUE(backend_->Start().ok());
    OpContext ctx;
    auto d = backend_->vfs()->Mkdir(ctx, kRootInode, "d", 0755);
    ASSERT_TRUE(d.ok());
    auto f = backend_->vfs()->Mknod(ctx, d->inode.id, "f", S_IFREG | 0644, 0);
    ASSERT_TRUE(f.ok());
    file_ = f->inode.id;
    auto g = backend_->vfs()->Mknod(ctx, kRootInode, "g", S_IFREG | 0644, 0);
    ASSERT_TRUE(g.ok());
    other_ = g->inode.id;
    AdminSources s;
    s.backend = backend_.get();
    s.socket_path = dir_ + "/admin.sock";
    s.started = Clock::Default()->Now();
    handler_ = std::make_unique<AdminHandler>(s);
  }
  void TearDown() override {
    handler_.reset();
    backend_.reset();
    std::filesystem::remove_all(dir_);
  }
  LockRequest Req(locking::FileId f, Owner o, uint64_t first, uint64_t last,
                  LockMode m, uint32_t pid) {
    LockRequest r;
    r.file = f;
    r.owner = std::move(o);
    r.mode = m;
    r.range = locking::Range{first, last, false};
    r.pid = pid;
    return r;
  }
  Json Call(const Json& req) { return handler_->Run(req); }

  std::string dir_;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<AdminHandler> handler_;
  locking::FileId file_ = 0, other_ = 0;
};

const Owner kLocal{Protocol::kLocal, 0, "\x01\x02", 0};
const Owner kNfs{Protocol::kNlm, NlmClientId("client1"),
                 std::string("\0\0\0\x07oh", 6), 0};

TEST_F(AdminTest, LocksListsEveryLockAndWaiterWithPathsAndFilters) {
  auto* lm = backend_->locks();
  ASSERT_EQ(
      lm->Lock(Req(file_, kLocal, 0, 99, LockMode::kExclusive, 4242)).status,
      LockStatus::kGranted);
  ASSERT_EQ(
      lm->Lock(Req(other_, kNfs, 10, locking::kToEof, LockMode::kShared, 7))
          .status,
      LockStatus::kGranted);
  Json r = Call({{"cmd", "locks"}});
  ASSERT_TRUE(r["ok"]) << r.dump();
  ASSERT_EQ(r["locks"].size(), 2u) << r.dump();
  const Json& a = r["locks"][0];
  EXPECT_EQ(a["state"], "held");
  EXPECT_EQ(a["protocol"], "local");
  EXPECT_EQ(a["client"], "local");
  EXPECT_EQ(a["pid"], 4242);
  EXPECT_EQ(a["path"], "/d/f");
  EXPECT_EQ(a["file"], file_);
  EXPECT_EQ(a["first"], 0);
  EXPECT_EQ(a["last"], 99);
  EXPECT_EQ(a["mode"], "exclusive");
  EXPECT_EQ(a["flavour"], "posix");
  EXPECT_EQ(a["owner"], "local:0:0102");
  const Json& b = r["locks"][1];
  EXPECT_EQ(b["protocol"], "nfs");
  EXPECT_EQ(b["path"], "/g");
  EXPECT_EQ(b["last"], nullptr);  // to EOF
  EXPECT_EQ(b["mode"], "shared");
  EXPECT_EQ(b["pid"], 7);
  EXPECT_EQ(b["durable"], false);

  auto count = [&](Json req) {
    req["cmd"] = "locks";
    Json x = Call(req);
    EXPECT_TRUE(x["ok"]) << x.dump();
    return x["locks"].size();
  };
  EXPECT_EQ(count({{"protocol", "nfs"}}), 1u);
  EXPECT_EQ(count({{"protocol", "nlm"}}), 1u);
  EXPECT_EQ(count({{"protocol", "local"}}), 1u);
  EXPECT_EQ(count({{"protocol", "smb"}}), 0u);
  EXPECT_EQ(count({{"path", "/d"}}), 1u);
  EXPECT_EQ(count({{"path", "/d/"}}), 1u);
  EXPECT_EQ(count({{"path", "/"}}), 2u);
  EXPECT_EQ(count({{"path", "/d/f"}}), 1u);
  EXPECT_EQ(count({{"path", "/d/ff"}}), 0u);
  EXPECT_EQ(count({{"client", "client1"}}), 1u);
  EXPECT_EQ(count({{"client", "local"}}), 1u);
  EXPECT_EQ(count({{"client", std::to_string(NlmClientId("client1"))}}), 1u);
  EXPECT_EQ(count({{"client", "nobody"}}), 0u);

  Json bad = Call({{"cmd", "locks"}, {"protocol", "ftp"}});
  EXPECT_EQ(bad["ok"], false);
  EXPECT_EQ(bad["error"],
            "unknown protocol 'ftp' (expected local, nfs or smb)");
}

TEST_F(AdminTest, ReleaseOfAClientWakesTheWaitersBehindIt) {
  auto* lm = backend_->locks();
  ASSERT_EQ(lm->Lock(Req(file_, kNfs, 0, 9, LockMode::kExclusive, 7)).status,
            LockStatus::kGranted);
  std::vector<LockStatus> woken;
  LockResult q = lm->Lock(Req(file_, kLocal, 0, 0, LockMode::kExclusive, 4242),
                          [&](LockStatus s) { woken.push_back(s); });
  ASSERT_EQ(q.status, LockStatus::kQueued);
  Json l = Call({{"cmd", "locks"}});
  ASSERT_EQ(l["locks"].size(), 2u);
  EXPECT_EQ(l["locks"][1]["state"], "waiting");
  EXPECT_EQ(l["locks"][1]["waiter_id"], q.waiter_id);

  EXPECT_EQ(Call({{"cmd", "release"}, {"client", "client1"}})["error"],
            "release needs a reason (it goes to the log)");
  EXPECT_EQ(Call({{"cmd", "release"}, {"reason", "x"}})["error"],
            "release needs exactly one of client or owner");
  EXPECT_EQ(
      Call({{"cmd", "release"}, {"client", "ghost"}, {"reason", "x"}})["error"],
      "no locks or waiters of client ghost");
  EXPECT_TRUE(woken.empty());

  Json r = Call({{"cmd", "release"},
                 {"client", "client1"},
                 {"reason", "client crashed"}});
  ASSERT_TRUE(r["ok"]) << r.dump();
  EXPECT_EQ(r["released"], 1);
  EXPECT_EQ(r["cancelled"], 0);
  ASSERT_EQ(woken.size(), 1u);
  EXPECT_EQ(woken[0], LockStatus::kGranted);
  Json after = Call({{"cmd", "locks"}});
  ASSERT_EQ(after["locks"].size(), 1u);
  EXPECT_EQ(after["locks"][0]["protocol"], "local");
  EXPECT_EQ(after["locks"][0]["state"], "held");
}

TEST_F(AdminTest, ReleaseOfOneOwnerKeepsTheClientsOthers) {
  auto* lm = backend_->locks();
  Owner other = kNfs;
  other.owner = std::string("\0\0\0\x08oh", 6);
  ASSERT_EQ(lm->Lock(Req(file_, kNfs, 0, 9, LockMode::kExclusive, 7)).status,
            LockStatus::kGranted);
  ASSERT_EQ(lm->Lock(Req(file_, other, 20, 29, LockMode::kExclusive, 8)).status,
            LockStatus::kGranted);
  Json r = Call({{"cmd", "release"},
                 {"owner", other.ToString()},
                 {"reason", "stuck process"}});
  ASSERT_TRUE(r["ok"]) << r.dump();
  EXPECT_EQ(r["released"], 1);
  Json after = Call({{"cmd", "locks"}});
  ASSERT_EQ(after["locks"].size(), 1u);
  EXPECT_EQ(after["locks"][0]["pid"], 7);
}

TEST_F(AdminTest, ClientsCountWhatEachClientHolds) {
  Json r = Call({{"cmd", "clients"}});
  ASSERT_TRUE(r["ok"]) << r.dump();
  EXPECT_EQ(r["clients"], Json::array());
  auto* lm = backend_->locks();
  ASSERT_EQ(lm->Lock(Req(file_, kNfs, 0, 9, LockMode::kExclusive, 7)).status,
            LockStatus::kGranted);
  ASSERT_EQ(lm->Lock(Req(file_, kNfs, 20, 29, LockMode::kShared, 8)).status,
            LockStatus::kGranted);
  LockResult q = lm->Lock(Req(file_, kLocal, 0, 0, LockMode::kExclusive, 42),
                          [](LockStatus) {});
  ASSERT_EQ(q.status, LockStatus::kQueued);
  r = Call({{"cmd", "clients"}});
  ASSERT_TRUE(r["ok"]) << r.dump();
  ASSERT_EQ(r["clients"].size(), 2u) << r.dump();
  // No NFS service here: the host is known by what it holds only.
  const Json& n = r["clients"][0];
  EXPECT_EQ(n["protocol"], "nfs");
  EXPECT_EQ(n["client_id"], kNfs.client);
  EXPECT_EQ(n["locks"], 2);
  EXPECT_EQ(n["waiting"], 0);
  EXPECT_EQ(n["listed"], false);
  const Json& l = r["clients"][1];
  EXPECT_EQ(l["protocol"], "local");
  EXPECT_EQ(l["locks"], 0);
  EXPECT_EQ(l["waiting"], 1);
  EXPECT_EQ(Call({{"cmd", "clients"}, {"protocol", "local"}})["clients"].size(),
            1u);
  EXPECT_EQ(Call({{"cmd", "clients"},
                  {"client", std::to_string(kNfs.client)}})["clients"]
                .size(),
            1u);
  EXPECT_EQ(Call({{"cmd", "clients"}, {"path", "/d"}})["error"],
            "clients takes no path (filters: protocol, client)");

  ASSERT_TRUE(Call({{"cmd", "release"},
                    {"client", std::to_string(kNfs.client)},
                    {"reason", "test"}})["ok"]);
  r = Call({{"cmd", "clients"}});
  ASSERT_EQ(r["clients"].size(), 1u) << r.dump();
  EXPECT_EQ(r["clients"][0]["protocol"], "local");
  EXPECT_EQ(r["clients"][0]["locks"], 1);
  EXPECT_EQ(r["clients"][0]["waiting"], 0);
}

TEST_F(AdminTest, MalformedRequestsGetClearErrors) {
  EXPECT_EQ(handler_->Handle("not json")["error"], "request is not valid JSON");
  EXPECT_EQ(handler_->Handle("{\"cmd\":\"frobnicate\"}")["error"],
            "unknown command 'frobnicate' (expected locks, clients, release, "
            "grace or status)");
  EXPECT_EQ(handler_->Handle("{\"cmd\":\"locks\",\"path\":5}")["error"],
            "field \"path\" must be a string");
  EXPECT_EQ(
      handler_->Handle("{\"cmd\":\"grace\",\"action\":\"begin\"}")["error"],
      "unknown grace action 'begin' (expected status or end)");
}

TEST_F(AdminTest, GraceAndStatus) {
  Json g = Call({{"cmd", "grace"}, {"action", "status"}});
  ASSERT_TRUE(g["ok"]);
  EXPECT_EQ(g["in_grace"], false);
  g = Call({{"cmd", "grace"}, {"action", "end"}});
  EXPECT_EQ(g["ended"], false);
  Json s = Call({{"cmd", "status"}});
  ASSERT_TRUE(s["ok"]) << s.dump();
  EXPECT_EQ(s["store"]["healthy"], true);
  EXPECT_EQ(s["data_dir"], dir_ + "/concordfs-data");
  EXPECT_EQ(s["nfs"]["enabled"], false);
  EXPECT_EQ(s["smb"]["enabled"], false);
  EXPECT_EQ(s["mount"]["enabled"], false);
  EXPECT_EQ(s["admin_socket"], dir_ + "/admin.sock");
  EXPECT_EQ(s["locks"]["held"], 0);
}

TEST_F(AdminTest, SocketIsPrivateAndKeepsServingAfterGarbage) {
  AdminSources s;
  s.backend = backend_.get();
  s.socket_path = dir_ + "/admin.sock";
  // A stale socket file (no listener) is replaced.
  {
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strcpy(a.sun_path, s.socket_path.c_str());
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    close(fd);
  }
  AdminServer server(s);
  ASSERT_TRUE(server.Start().ok());
  struct stat st {};
  ASSERT_EQ(lstat(s.socket_path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_FALSE(std::filesystem::exists(s.socket_path + ".new"));

  // A second server on the same path is refused: someone listens there.
  AdminServer second(s);
  Status busy = second.Start();
  EXPECT_EQ(busy.code(), EADDRINUSE) << busy.ToString();

  // Garbage, then a good request on the same connection.
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strcpy(a.sun_path, s.socket_path.c_str());
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  std::string req = "\x01garbage{\n{\"cmd\":\"grace\"}\n";
  ASSERT_EQ(write(fd, req.data(), req.size()),
            static_cast<ssize_t>(req.size()));
  std::string got;
  char buf[4096];
  while (std::count(got.begin(), got.end(), '\n') < 2) {
    ssize_t n = read(fd, buf, sizeof(buf));
    ASSERT_GT(n, 0);
    got.append(buf, n);
  }
  close(fd);
  EXPECT_EQ(got.substr(0, got.find('\n') + 1),
            "{\"error\":\"request is not valid JSON\",\"ok\":false}\n");
  EXPECT_NE(got.find("\"request is not valid JSON\""), std::string::npos);
  EXPECT_NE(got.find("\"in_grace\":false"), std::string::npos);

  Result<Json> r = admin::AdminCall(s.socket_path, Json{{"cmd", "status"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["ok"], true);
  server.Stop();
  EXPECT_FALSE(std::filesystem::exists(s.socket_path));
}

TEST(AdminSocketPathTest, DefaultIsUnderDataDir) {
  Result<Config> c = ParseConfig("data_dir: /srv/x\n", "t", "/");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(AdminSocketPath(*c), "/srv/x/admin.sock");
  c = ParseConfig("admin: {socket: run/a.sock}\n", "t", "/etc/cfs");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(AdminSocketPath(*c), "/etc/cfs/run/a.sock");
}

}  // namespace
}  // namespace concordfs
