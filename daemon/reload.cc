#include "daemon/reload.h"

#include <algorithm>
#include <cctype>
#include <map>

namespace concordfs {
namespace {

// The keys a reload applies; see reload.h.
constexpr std::string_view kLiveKeys[] = {
    "log_level", "log_levels", "nfs.exports", "smb.shares", "smb.users",
};

bool IsLive(std::string_view key) {
  return std::find(std::begin(kLiveKeys), std::end(kLiveKeys), key) !=
         std::end(kLiveKeys);
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& ch : out) {
    ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  }
  return out;
}

std::string DescribeShare(const smb::SmbShare& s) {
  std::string out = s.path + (s.read_only ? ", read-only" : ", read-write");
  if (!s.users.empty()) {
    out += ", users ";
    for (size_t i = 0; i < s.users.size(); ++i) {
      out += (i ? "," : "") + s.users[i];
    }
  }
  if (s.encrypt) out += ", encrypted";
  return out;
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

std::vector<std::string> DescribeSmbChanges(const smb::SmbOptions& before,
                                            const smb::SmbOptions& after) {
  std::vector<std::string> out;
  std::map<std::string, const smb::SmbShare*> old_shares, new_shares;
  for (const smb::SmbShare& s : before.shares) old_shares[Lower(s.name)] = &s;
  for (const smb::SmbShare& s : after.shares) new_shares[Lower(s.name)] = &s;
  for (const auto& [key, s] : old_shares) {
    if (!new_shares.contains(key)) {
      out.push_back("share '" + s->name +
                    "' removed (new tree connects are "
                    "refused; connected trees stay)");
    }
  }
  for (const auto& [key, s] : new_shares) {
    auto it = old_shares.find(key);
    if (it == old_shares.end()) {
      out.push_back("share '" + s->name + "' added (" + DescribeShare(*s) +
                    ")");
    } else if (!(*it->second == *s)) {
      out.push_back("share '" + s->name + "' changed (" + DescribeShare(*s) +
                    "; was " + DescribeShare(*it->second) + ")");
    }
  }
  std::map<std::string, const smb::SmbUser*> old_users, new_users;
  for (const smb::SmbUser& u : before.users) old_users[Lower(u.name)] = &u;
  for (const smb::SmbUser& u : after.users) new_users[Lower(u.name)] = &u;
  std::vector<std::string> added, removed, changed;
  for (const auto& [key, u] : new_users) {
    auto it = old_users.find(key);
    if (it == old_users.end()) {
      added.push_back(u->name);
    } else if (!(*it->second == *u)) {
      changed.push_back(u->name);  // password, uid, gid or groups
    }
  }
  for (const auto& [key, u] : old_users) {
    if (!new_users.contains(key)) removed.push_back(u->name);
  }
  if (!added.empty() || !removed.empty() || !changed.empty()) {
    std::string detail;
    auto part = [&](const char* what, const std::vector<std::string>& names) {
      if (names.empty()) return;
      detail += (detail.empty() ? "" : "; ") + std::string(what) + " " +
                JoinNames(names);
    };
    part("added", added);
    part("removed", removed);
    part("changed", changed);
    out.push_back("users: " + std::to_string(after.users.size()) + " (" +
                  detail + ")");
  }
  return out;
}

ReloadPlan PlanReload(const Config& running, const Config& next,
                      bool smb_running) {
  ReloadPlan plan;
  plan.applied = running;
  for (const std::string& key : ChangedKeys(running, next)) {
    if (IsLive(key)) continue;
    if (smb_running && key.starts_with("smb.") && key != "smb.enabled") {
      continue;  // the SMB service decides (SmbService::Reload)
    }
    plan.restart_keys.push_back(key);
  }
  plan.log_levels_changed = running.log_level != next.log_level ||
                            running.log_levels != next.log_levels;
  plan.applied.log_level = next.log_level;
  plan.applied.log_levels = next.log_levels;
  plan.exports_changed = running.nfs_exports != next.nfs_exports;
  plan.applied.nfs_exports = next.nfs_exports;
  plan.smb_changes = DescribeSmbChanges(running.smb, next.smb);
  plan.smb_changed = running.smb.shares != next.smb.shares ||
                     running.smb.users != next.smb.users;
  plan.applied.smb.shares = next.smb.shares;
  plan.applied.smb.users = next.smb.users;
  return plan;
}

}  // namespace concordfs
