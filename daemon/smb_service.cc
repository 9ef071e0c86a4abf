#include "daemon/smb_service.h"

namespace concordfs {

SmbService::~SmbService() { Stop(); }

Status SmbService::Start() {
  pool_ = std::make_unique<net::IoPool>(2, 8);
  pool_->Start();
  server_ = std::make_unique<smb::SmbServer>(
      pool_.get(), backend_->vfs(), backend_->share_modes(), opts_,
      backend_->locks(), backend_->cache_breaks());
  Status st = server_->Listen();
  if (!st.ok()) {
    server_.reset();
    pool_->Stop();
    pool_.reset();
  }
  return st;
}

void SmbService::Stop() {
  if (server_) server_->Stop();
  if (pool_) pool_->Stop();
  server_.reset();
  pool_.reset();
}

uint16_t SmbService::port() const { return server_ ? server_->port() : 0; }

std::vector<smb::SmbShare> SmbService::Shares() const {
  std::lock_guard<std::mutex> g(mu_);
  return opts_.shares;
}

std::vector<smb::SmbSessionInfo> SmbService::Sessions() const {
  return server_ ? server_->Sessions() : std::vector<smb::SmbSessionInfo>{};
}

std::vector<std::string> SmbService::Reload(const smb::SmbOptions& next) {
  std::vector<std::string> restart;
  if (server_) restart = server_->Reload(next);
  std::lock_guard<std::mutex> g(mu_);
  opts_.shares = next.shares;
  opts_.users = next.users;
  return restart;
}

std::vector<std::string> SmbService::Describe() const {
  std::lock_guard<std::mutex> g(mu_);
  std::vector<std::string> out;
  std::string sec =
      opts_.signing_required ? "signing required" : "signing enabled";
  if (opts_.encryption == smb::SmbEncryption::kRequired)
    sec += ", encryption required";
  if (opts_.encryption == smb::SmbEncryption::kDesired)
    sec += ", encryption desired";
  out.push_back("SMB2/3 (2.0.2-3.1.1) on " + opts_.address + ":" +
                std::to_string(port()) + " as \\\\" + opts_.server_name + " (" +
                sec + ", " + std::to_string(opts_.users.size()) + " users)");
  for (const smb::SmbShare& s : opts_.shares) {
    out.push_back("SMB share \\\\" + opts_.server_name + "\\" + s.name +
                  " -> " + s.path + (s.read_only ? " (read-only)" : ""));
  }
  return out;
}

}  // namespace concordfs
