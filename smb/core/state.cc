#include "smb/core/state.h"

namespace concordfs::smb {

std::shared_ptr<const ShareConfig> SmbServerState::Config() const {
  std::lock_guard<std::mutex> g(config_mu_);
  if (!config_) {
    config_ = std::make_shared<const ShareConfig>(
        ShareConfig{opts.users, opts.shares});
  }
  return config_;
}

void SmbServerState::SetConfig(std::shared_ptr<const ShareConfig> c) {
  std::lock_guard<std::mutex> g(config_mu_);
  config_ = std::move(c);
}

void SessionDirectory::Add(uint64_t id, std::string user, Runner run,
                           SmbConnection* conn, const void* group,
                           BindInfo info) {
  std::lock_guard<std::mutex> g(mu_);
  sessions_[id] =
      Entry{std::move(user), std::move(run), conn, group, std::move(info)};
}

const void* SessionDirectory::GroupOf(uint64_t id) const {
  std::lock_guard<std::mutex> g(mu_);
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : it->second.group;
}

std::optional<SessionDirectory::BindInfo> SessionDirectory::Lookup(
    uint64_t id) const {
  std::lock_guard<std::mutex> g(mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return std::nullopt;
  return it->second.info;
}

SmbConnection* SessionDirectory::FindInGroup(uint64_t id,
                                             const void* group) const {
  if (!group) return nullptr;
  std::lock_guard<std::mutex> g(mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end() || it->second.group != group) return nullptr;
  return it->second.conn;
}

void SessionDirectory::Remove(uint64_t id) {
  std::lock_guard<std::mutex> g(mu_);
  sessions_.erase(id);
}

std::optional<SessionDirectory::Runner> SessionDirectory::Find(
    uint64_t id, const std::string& user) const {
  std::lock_guard<std::mutex> g(mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end() || it->second.user != user) return std::nullopt;
  return it->second.run;
}

void ClientDirectory::Add(const std::string& guid, uint64_t conn, Runner run) {
  std::lock_guard<std::mutex> g(mu_);
  clients_[guid][conn] = std::move(run);
}

void ClientDirectory::Remove(const std::string& guid, uint64_t conn) {
  std::lock_guard<std::mutex> g(mu_);
  auto it = clients_.find(guid);
  if (it == clients_.end()) return;
  it->second.erase(conn);
  if (it->second.empty()) clients_.erase(it);
}

std::optional<std::pair<uint64_t, ClientDirectory::Runner>>
ClientDirectory::First(const std::string& guid) const {
  std::lock_guard<std::mutex> g(mu_);
  auto it = clients_.find(guid);
  if (it == clients_.end() || it->second.empty()) return std::nullopt;
  return *it->second.begin();
}

void FileStates::AddOpen(InodeId ino) {
  std::lock_guard<std::mutex> g(mu_);
  ++files_[ino].opens;
}

bool FileStates::RemoveOpen(InodeId ino) {
  std::lock_guard<std::mutex> g(mu_);
  auto it = files_.find(ino);
  if (it == files_.end()) return false;
  if (--it->second.opens > 0) return false;
  bool pending = it->second.delete_pending;
  files_.erase(it);
  return pending;
}

bool FileStates::DeletePending(InodeId ino) const {
  std::lock_guard<std::mutex> g(mu_);
  auto it = files_.find(ino);
  return it != files_.end() && it->second.delete_pending;
}

bool FileStates::HasOpens(InodeId ino) const {
  std::lock_guard<std::mutex> g(mu_);
  return files_.count(ino) != 0;
}

void FileStates::SetDeletePending(InodeId ino, bool pending) {
  std::lock_guard<std::mutex> g(mu_);
  auto it = files_.find(ino);
  if (it != files_.end()) it->second.delete_pending = pending;
}

}  // namespace concordfs::smb
