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

TEST(AdminFormatTest, GraceAndRelease) {
  EXPECT_EQ(FormatGrace(Json{{"in_grace", false}}), "not in grace\n");
  EXPECT_EQ(FormatGrace(Json{{"in_grace", false}, {"ended", true}}),
            "grace ended\n");
  EXPECT_EQ(FormatGrace(Json{
                {"in_grace", true}, {"unreclaimed", 3}, {"ends_in_ms", 61000}}),
            "in grace: 3 unreclaimed lock(s), ends in 1m01s\n");
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
