// PlanReload and DescribeSmbChanges: which changed settings a SIGHUP applies
// live and which wait for a restart, and how the SMB changes read.
#include "daemon/reload.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace concordfs {
namespace {

using Lines = std::vector<std::string>;

Config Base() {
  Config c;
  c.data_dir = "/srv/data";
  c.mount_path = "/srv/mnt";
  c.smb.users = {{"alice", std::string(16, 'a'), 1000, 1000, {}},
                 {"carol", std::string(16, 'c'), 1002, 1002, {}}};
  c.smb.shares = {{"share", "/", "", false, {}, false},
                  {"old", "/old", "", false, {}, false}};
  return c;
}

TEST(ReloadTest, NothingChanged) {
  ReloadPlan p = PlanReload(Base(), Base(), true);
  EXPECT_FALSE(p.log_levels_changed);
  EXPECT_FALSE(p.exports_changed);
  EXPECT_FALSE(p.smb_changed);
  EXPECT_TRUE(p.smb_changes.empty());
  EXPECT_TRUE(p.restart_keys.empty());
  EXPECT_EQ(p.applied, Base());
}

TEST(ReloadTest, LiveSettingsAreAppliedOthersNeedARestart) {
  const Config running = Base();
  Config next = Base();
  next.log_level = "debug";
  next.log_levels = {{"nlm", "trace"}};
  next.nfs_exports[0].read_only = true;
  next.smb.shares.push_back({"docs", "/docs", "", true, {"bob"}, false});
  next.smb.users.push_back({"bob", std::string(16, 'b'), 1001, 1001, {}});
  // Not live:
  next.nfs_port = 3049;
  next.data_dir = "/srv/other";
  next.lock_grace_seconds = 5;
  next.mount_enabled = false;
  next.smb.port = 445;
  next.smb_enabled = false;

  ReloadPlan p = PlanReload(running, next, /*smb_running=*/true);
  EXPECT_TRUE(p.log_levels_changed);
  EXPECT_TRUE(p.exports_changed);
  EXPECT_TRUE(p.smb_changed);
  // smb.port is the SMB service's to report (SmbService::Reload);
  // smb.enabled is not.
  EXPECT_EQ(p.restart_keys,
            (Lines{"data_dir", "locks.grace_period", "mount.enabled",
                   "nfs.port", "smb.enabled"}));
  // What is in force afterwards: the live settings of `next`, the rest of
  // `running`.
  Config want = running;
  want.log_level = next.log_level;
  want.log_levels = next.log_levels;
  want.nfs_exports = next.nfs_exports;
  want.smb.shares = next.smb.shares;
  want.smb.users = next.smb.users;
  EXPECT_EQ(p.applied, want);
  EXPECT_EQ(p.smb_changes,
            (Lines{"share 'docs' added (/docs, read-only, users bob)",
                   "users: 3 (added bob)"}));

  // Without a running SMB service every changed smb key is reported here.
  p = PlanReload(running, next, /*smb_running=*/false);
  EXPECT_EQ(p.restart_keys,
            (Lines{"data_dir", "locks.grace_period", "mount.enabled",
                   "nfs.port", "smb.enabled", "smb.port"}));
}

TEST(ReloadTest, ReloadingAgainComparesWithWhatIsInForce) {
  Config next = Base();
  next.nfs_port = 3049;
  next.smb.users.pop_back();
  ReloadPlan first = PlanReload(Base(), next, true);
  EXPECT_EQ(first.restart_keys, Lines{"nfs.port"});
  EXPECT_TRUE(first.smb_changed);
  // The same file again: the users are in force now; the port still needs
  // a restart (and is said again).
  ReloadPlan second = PlanReload(first.applied, next, true);
  EXPECT_FALSE(second.smb_changed);
  EXPECT_TRUE(second.smb_changes.empty());
  EXPECT_EQ(second.restart_keys, Lines{"nfs.port"});
}

TEST(ReloadTest, DescribesSmbChanges) {
  smb::SmbOptions before = Base().smb;
  smb::SmbOptions after = before;
  after.shares.erase(after.shares.begin() + 1);  // "old"
  after.shares[0].read_only = true;
  after.shares.push_back({"Secret", "/s", "x", false, {}, true});
  after.users[0].nt_hash = std::string(16, 'z');  // alice's password
  after.users.erase(after.users.begin() + 1);     // carol
  after.users.push_back({"dave", std::string(16, 'd'), 1, 1, {}});
  EXPECT_EQ(DescribeSmbChanges(before, after),
            (Lines{"share 'old' removed (new tree connects are refused; "
                   "connected trees stay)",
                   "share 'Secret' added (/s, read-write, encrypted)",
                   "share 'share' changed (/, read-only; was /, read-write)",
                   "users: 2 (added dave; removed carol; changed alice)"}));
  // Names compare case-insensitively: a renamed case is no change of set.
  smb::SmbOptions upper = before;
  upper.shares[1].name = "OLD";
  EXPECT_EQ(DescribeSmbChanges(before, upper),
            Lines{"share 'OLD' changed (/old, read-write; was /old, "
                  "read-write)"});
  EXPECT_TRUE(DescribeSmbChanges(before, before).empty());
}

}  // namespace
}  // namespace concordfs
