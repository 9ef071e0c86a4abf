// Reload planning: what a configuration re-read on SIGHUP changes in the
// running daemon.
//
// Live settings are applied without a restart: log_level and log_levels,
// nfs.exports, smb.shares and smb.users. Every other changed key is reported
// as needing a restart and ignored. PlanReload only compares and describes;
// the daemon's main thread applies the plan (NfsService::ReplaceExports,
// SmbService::Reload, SetLogLevels) after every part of it validated, so a
// bad configuration changes nothing. Pure functions over plain values:
// thread-compatible.
#pragma once

#include <string>
#include <vector>

#include "daemon/config.h"

namespace concordfs {

struct ReloadPlan {
  // `running` with the live settings taken from the new configuration:
  // what is in force once the plan is applied (and what the next reload
  // compares against).
  Config applied;
  bool log_levels_changed = false;
  bool exports_changed = false;
  bool smb_changed = false;  // shares or users
  // One line per SMB share added/removed/changed, and the users.
  std::vector<std::string> smb_changes;
  // Changed keys that take effect only at a restart (ignored now). With
  // `smb_running`, smb.* keys other than smb.enabled are left out: the SMB
  // service answers for its own settings (SmbService::Reload).
  std::vector<std::string> restart_keys;
};

ReloadPlan PlanReload(const Config& running, const Config& next,
                      bool smb_running);

// "share 'docs' added (/docs, read-only)", "share 'old' removed", "users:
// 3 (added bob; removed carol)": what differs between two SMB
// configurations' shares and users (names compare case-insensitively).
std::vector<std::string> DescribeSmbChanges(const smb::SmbOptions& before,
                                            const smb::SmbOptions& after);

}  // namespace concordfs
