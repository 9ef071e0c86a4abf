// concordctl's tables, from JSON responses as the daemon sends them.
#include "admin/format.h"

#include <gtest/gtest.h>

namespace concordfs::admin {
namespace {

TEST(AdminFormatTest, TableIsAligned) {
  EXPECT_EQ(FormatTable({"A", "LONG", "C"}, {{"xxx", "y", "z"}, {"1", "", ""}}),
            "A    LONG  C\n"
            "xxx  y     z\n"
            "1\n");
}

TEST(AdminFormatTest, Ranges) {
  EXPECT_EQ(FormatRange(Json{{"first", 0}, {"last", 99}}), "0-99");
  EXPECT_EQ(FormatRange(Json{{"first", 100}, {"last", nullptr}}), "100-EOF");
  EXPECT_EQ(FormatRange(Json{{"first", 7}, {"last", 7}, {"zero_length", true}}),
            "7 (zero-length)");
}

TEST(AdminFormatTest, Ages) {
  EXPECT_EQ(FormatAge(0), "0ms");
  EXPECT_EQ(FormatAge(850), "850ms");
  EXPECT_EQ(FormatAge(12345), "12.3s");
  EXPECT_EQ(FormatAge(303000), "5m03s");
  EXPECT_EQ(FormatAge(7260000), "2h01m");
  EXPECT_EQ(FormatAge(273600000), "3d04h");
}

TEST(AdminFormatTest, Locks) {
  EXPECT_EQ(FormatLocks(Json{{"ok", true}, {"locks", Json::array()}}),
            "no locks\n");
  Json r = Json::parse(R"({"ok":true,"locks":[
    {"state":"held","protocol":"local","client":"local","pid":4242,
     "path":"/d/f","file":12,"first":0,"last":99,"zero_length":false,
     "mode":"exclusive","flavour":"posix","age_ms":1500,
     "owner":"local:0:0102"},
    {"state":"waiting","protocol":"nfs","client":"client1","pid":7,
     "path":null,"file":13,"first":5,"last":null,"zero_length":false,
     "mode":"shared","flavour":"posix","age_ms":20,
     "owner":"nlm:99:00000007"}]})");
  EXPECT_EQ(FormatLocks(r),
            "STATE    PROTOCOL  CLIENT   PID/SVID  PATH  INODE  RANGE  MODE   "
            "FLAVOUR  AGE   OWNER\n"
            "held     local     local    4242      /d/f  12     0-99   write  "
            "posix    1.5s  local:0:0102\n"
            "waiting  nfs       client1  7         ?     13     5-EOF  read   "
            "posix    20ms  nlm:99:00000007\n");
}

TEST(AdminFormatTest, Clients) {
  EXPECT_EQ(FormatClients(Json{{"ok", true}, {"clients", Json::array()}}),
            "no clients\n");
  Json r = Json::parse(R"({"ok":true,"clients":[
    {"protocol":"nfs","client":"host1","client_id":9,"address":"10.0.0.2",
     "nsm_state":3,"monitored":true,"bound":true,"shares":1,"locks":2,
     "waiting":1},
    {"protocol":"nfs","client":"host2","client_id":8,"address":"10.0.0.3",
     "nsm_state":null,"monitored":false,"bound":true,"shares":0,"locks":0,
     "waiting":0},
    {"protocol":"smb","client":"session:0x10","client_id":16,
     "session_id":16,"address":"10.0.0.4:50000","user":"alice",
     "guest":false,"dialect":"3.1.1","signing":true,"encrypted":true,
     "trees":1,"opens":2,"oplocks":0,"leases":1,"durable":0,
     "disconnected":false,"age_ms":65000,"locks":1,"waiting":0},
    {"protocol":"smb","client":"session:0x11","client_id":17,
     "session_id":17,"address":"10.0.0.5:50001","user":"","guest":true,
     "dialect":"2.1","signing":false,"encrypted":false,"trees":0,"opens":0,
     "oplocks":0,"leases":0,"durable":0,"disconnected":false,"age_ms":0,
     "locks":0,"waiting":0},
    {"protocol":"local","client":"local","client_id":0,"address":"",
     "listed":false,"opens":3,"locks":1,"waiting":0}]})");
  const std::string table = FormatClients(r);
  std::vector<std::string> lines;
  for (size_t pos = 0; pos < table.size();) {
    const size_t end = table.find('\n', pos);
    lines.push_back(table.substr(pos, end - pos));
    pos = end + 1;
  }
  ASSERT_EQ(lines.size(), 6u) << table;
  EXPECT_EQ(lines[0],
            "PROTOCOL  CLIENT        ADDRESS         USER         DIALECT  "
            "SECURITY          NSM           TREES  OPENS  OPLOCKS  LEASES  "
            "DURABLE  LOCKS  WAITING  AGE");
  EXPECT_EQ(lines[1],
            "nfs       host1         10.0.0.2        -            -        "
            "-                 3, monitored  -      1      -        -       "
            "-        2      1        -");
  EXPECT_EQ(lines[2],
            "nfs       host2         10.0.0.3        -            -        "
            "-                 ?             -      0      -        -       "
            "-        0      0        -");
  EXPECT_EQ(lines[3],
            "smb       session:0x10  10.0.0.4:50000  alice        3.1.1    "
            "signed,encrypted  -             1      2      0        1       "
            "0        1      0        1m05s");
  EXPECT_EQ(lines[4],
            "smb       session:0x11  10.0.0.5:50001  (anonymous)  2.1      "
            "none              -             0      0      0        0       "
            "0        0      0        0ms");
  EXPECT_EQ(lines[5],
            "local     local         -               -            -        "
            "-                 -             -      3      -        -       "
            "-        1      0        -");
}

TEST(AdminFormatTest, GraceAndRelease) {
  EXPECT_EQ(FormatGrace(Json{{"in_grace", false}}), "not in grace\n");
  EXPECT_EQ(FormatGrace(Json{{"in_grace", false}, {"ended", true}}),
            "grace ended\n");
  EXPECT_EQ(FormatGrace(Json{
                {"in_grace", true}, {"unreclaimed", 3}, {"ends_in_ms", 61000}}),
            "in grace: 3 unreclaimed lock(s), ends in 1m01s\n");
  EXPECT_EQ(FormatGrace(Json{{"in_grace", true},
                             {"unreclaimed", 0},
                             {"ends_in_ms", 2000},
                             {"strict", true},
                             {"strict_reason", "the host went down"}}),
            "in grace: 0 unreclaimed lock(s), ends in 2.0s\n"
            "strict: every new lock is refused until grace ends (reclaims "
            "only), because the host went down\n");
  EXPECT_EQ(FormatRelease(Json{
                {"released", 2}, {"cancelled", 1}, {"target", "client c1"}}),
            "released 2 lock(s) and 1 waiter(s) of client c1\n");
}

TEST(AdminFormatTest, Status) {
  Json r = Json::parse(R"({"ok":true,"version":"0.1.0","pid":10,
    "uptime_ms":65000,"admin_socket":"/d/admin.sock","data_dir":"/d",
    "store":{"metadata":"leveldb:/d/metadata","content":"dir:/d/content",
             "healthy":true,"error":"","free_bytes":2097152},
    "mount":{"enabled":true,"path":"/mnt"},
    "nfs":{"enabled":true,"address":"127.0.0.1","port":2049,
           "mount_port":2049,"portmap_port":111,
           "exports":[{"path":"/","clients":["127.0.0.0/8","::1"],
                       "read_only":false}]},
    "smb":{"enabled":false},
    "locks":{"held":3,"local":1,"nfs":2,"smb":0,"waiting":1},
    "grace":{"in_grace":false}})");
  EXPECT_EQ(FormatStatus(r),
            "version: 0.1.0\n"
            "pid: 10\n"
            "uptime: 1m05s\n"
            "admin socket: /d/admin.sock\n"
            "store: leveldb:/d/metadata, content dir:/d/content\n"
            "store health: ok, 2 MiB free in /d\n"
            "mount: /mnt\n"
            "nfs: 127.0.0.1 port 2049, portmapper port 111\n"
            "EXPORT  CLIENTS          ACCESS\n"
            "/       127.0.0.0/8,::1  rw\n"
            "smb: disabled\n"
            "locks: 3 held (1 local, 2 nfs, 0 smb), 1 waiting\n"
            "grace: not in grace\n");
}

}  // namespace
}  // namespace concordfs::admin
