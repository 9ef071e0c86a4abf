// The admin `clients` rows, built from snapshots (no daemon, no sockets):
// counts by client, one row per NFS host / SMB session / local processes,
// holders their front end does not list, order, and the filters.
#include "daemon/admin_clients.h"

#include <gtest/gtest.h>

#include "daemon/admin_handlers.h"

namespace concordfs {
namespace {

using admin::Json;
using locking::Owner;
using locking::Protocol;

locking::LockInfo Held(Protocol p, uint64_t client, locking::FileId f = 5) {
  locking::LockInfo l;
  l.file = f;
  l.lock.owner = Owner{p, client, "o", 0};
  return l;
}

locking::WaiterInfo Waiting(Protocol p, uint64_t client) {
  locking::WaiterInfo w;
  w.file = 5;
  w.wanted.owner = Owner{p, client, "w", 0};
  return w;
}

locking::ShareEntry Open(Protocol p, uint64_t client, uint64_t open) {
  locking::ShareEntry e;
  e.file = 5;
  e.open.owner = Owner{p, client, "", open};
  return e;
}

rpc::NlmHostInfo Host(const std::string& name, std::optional<int32_t> state,
                      bool monitored) {
  rpc::NlmHostInfo h;
  h.name = name;
  h.address = "127.0.0.1";
  h.bound = true;
  h.monitored = monitored;
  h.nsm_state = state;
  return h;
}

smb::SmbSessionInfo Session(uint64_t id) {
  smb::SmbSessionInfo s;
  s.session_id = id;
  s.user = "alice";
  s.client = "127.0.0.1:40000";
  s.dialect = "3.1.1";
  s.signing = true;
  s.trees = 1;
  s.opens = 2;
  s.oplocks = 1;
  s.leases = 1;
  s.age_seconds = 12;
  return s;
}

TEST(AdminClientsTest, CountsLocksWaitersAndOpensPerClient) {
  const uint64_t c1 = rpc::NlmClientId("c1");
  ClientCountMap m =
      CountByClient({Held(Protocol::kNlm, c1), Held(Protocol::kNlm, c1, 6),
                     Held(Protocol::kSmb, 0x10), Held(Protocol::kLocal, 0)},
                    {Waiting(Protocol::kNlm, c1), Waiting(Protocol::kLocal, 0)},
                    {Open(Protocol::kNlm, c1, 0), Open(Protocol::kLocal, 0, 1),
                     Open(Protocol::kLocal, 0, 2)});
  ASSERT_EQ(m.size(), 3u);
  const ClientCounts& n = m[{Protocol::kNlm, c1}];
  EXPECT_EQ(n.locks, 2u);
  EXPECT_EQ(n.waiting, 1u);
  EXPECT_EQ(n.opens, 1u);
  EXPECT_EQ((m[{Protocol::kSmb, 0x10}].locks), 1u);
  const ClientCounts& l = m[{Protocol::kLocal, 0}];
  EXPECT_EQ(l.locks, 1u);
  EXPECT_EQ(l.waiting, 1u);
  EXPECT_EQ(l.opens, 2u);
}

TEST(AdminClientsTest, OneRowPerHostSessionAndLocalProcesses) {
  const uint64_t c1 = rpc::NlmClientId("c1");
  ClientCountMap counts = CountByClient(
      {Held(Protocol::kNlm, c1), Held(Protocol::kNlm, c1),
       Held(Protocol::kSmb, 0x10), Held(Protocol::kLocal, 0),
       // Holders nobody lists: a host not bound since start and not
       // monitored, a session its connection did not report.
       Held(Protocol::kNlm, 77), Held(Protocol::kSmb, 0x99)},
      {Waiting(Protocol::kNlm, c1)}, {Open(Protocol::kNlm, c1, 0)});
  std::vector<Json> rows =
      ClientRows({Host("c1", 5, true), Host("idle", std::nullopt, false)},
                 {Session(0x10)}, counts);
  ASSERT_EQ(rows.size(), 6u);
  // NFS first (by name), then SMB, then local.
  EXPECT_EQ(rows[0]["client"], "c1");
  EXPECT_EQ(rows[1]["client"], "host:0x4d");
  EXPECT_EQ(rows[2]["client"], "idle");
  EXPECT_EQ(rows[3]["client"], "session:0x10");
  EXPECT_EQ(rows[4]["client"], "session:0x99");
  EXPECT_EQ(rows[5]["client"], "local");

  const Json& n = rows[0];
  EXPECT_EQ(n["protocol"], "nfs");
  EXPECT_EQ(n["client_id"], c1);
  EXPECT_EQ(n["address"], "127.0.0.1");
  EXPECT_EQ(n["nsm_state"], 5);
  EXPECT_EQ(n["monitored"], true);
  EXPECT_EQ(n["bound"], true);
  EXPECT_EQ(n["locks"], 2);
  EXPECT_EQ(n["waiting"], 1);
  EXPECT_EQ(n["shares"], 1);
  EXPECT_EQ(rows[2]["nsm_state"], nullptr);
  EXPECT_EQ(rows[2]["locks"], 0);
  EXPECT_EQ(rows[1]["listed"], false);
  EXPECT_EQ(rows[1]["locks"], 1);

  const Json& s = rows[3];
  EXPECT_EQ(s["protocol"], "smb");
  EXPECT_EQ(s["session_id"], 0x10);
  EXPECT_EQ(s["client_id"], 0x10);
  EXPECT_EQ(s["user"], "alice");
  EXPECT_EQ(s["address"], "127.0.0.1:40000");
  EXPECT_EQ(s["dialect"], "3.1.1");
  EXPECT_EQ(s["signing"], true);
  EXPECT_EQ(s["encrypted"], false);
  EXPECT_EQ(s["trees"], 1);
  EXPECT_EQ(s["opens"], 2);
  EXPECT_EQ(s["oplocks"], 1);
  EXPECT_EQ(s["leases"], 1);
  EXPECT_EQ(s["durable"], 0);
  EXPECT_EQ(s["locks"], 1);
  EXPECT_EQ(s["age_ms"], 12000);
  EXPECT_EQ(rows[4]["listed"], false);
  EXPECT_EQ(rows[4]["locks"], 1);

  EXPECT_EQ(rows[5]["protocol"], "local");
  EXPECT_EQ(rows[5]["locks"], 1);
  EXPECT_EQ(rows[5]["opens"], 0);
}

TEST(AdminClientsTest, NothingHeldNothingListed) {
  EXPECT_TRUE(ClientRows({}, {}, {}).empty());
}

TEST(AdminClientsTest, FiltersByProtocolNameIdAndAddress) {
  std::vector<Json> rows =
      ClientRows({Host("c1", 5, true)}, {Session(0x10)},
                 CountByClient({Held(Protocol::kLocal, 0)}, {}, {}));
  auto count = [&](Json req) {
    Result<LockFilter> f = ParseClientFilter(req);
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    size_t n = 0;
    for (const Json& r : rows) n += MatchesLockFilter(r, *f);
    return n;
  };
  EXPECT_EQ(count(Json::object()), 3u);
  EXPECT_EQ(count({{"protocol", "nfs"}}), 1u);
  EXPECT_EQ(count({{"protocol", "nlm"}}), 1u);
  EXPECT_EQ(count({{"protocol", "smb"}}), 1u);
  EXPECT_EQ(count({{"protocol", "local"}}), 1u);
  EXPECT_EQ(count({{"client", "c1"}}), 1u);
  EXPECT_EQ(count({{"client", "session:0x10"}}), 1u);
  EXPECT_EQ(count({{"client", "0x10"}}), 1u);
  EXPECT_EQ(count({{"client", "16"}}), 1u);
  EXPECT_EQ(count({{"client", "local"}}), 1u);
  // The NFS host's address, and the SMB client's with or without its port.
  EXPECT_EQ(count({{"client", "127.0.0.1"}}), 2u);
  EXPECT_EQ(count({{"client", "127.0.0.1:40000"}}), 1u);
  EXPECT_EQ(count({{"client", "127.0.0.1"}, {"protocol", "smb"}}), 1u);
  EXPECT_EQ(count({{"client", "nobody"}}), 0u);

  Result<LockFilter> bad = ParseClientFilter({{"path", "/x"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "clients takes no path (filters: protocol, client)");
  EXPECT_FALSE(ParseClientFilter({{"protocol", "ftp"}}).ok());
}

}  // namespace
}  // namespace concordfs
