#include "smb/core/durable.h"

#include "smb/core/state.h"
#include "smb/info/nt_status.h"

namespace concordfs::smb {

DurableTable::DurableTable(Closer closer) : closer_(std::move(closer)) {
  timer_ = std::thread([this] { TimerLoop(); });
}

DurableTable::~DurableTable() {
  std::map<uint64_t, Entry> left;
  {
    std::lock_guard<std::mutex> g(mu_);
    stop_ = true;
    left.swap(kept_);
  }
  cv_.notify_all();
  timer_.join();
  for (auto& [id, e] : left) closer_(std::move(e.open));
}

void DurableTable::Keep(std::unique_ptr<Open> o) {
  auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(o->keep_ms);
  uint64_t id = o->fid.persistent;
  std::unique_ptr<Open> replaced;
  {
    std::lock_guard<std::mutex> g(mu_);
    Entry& e = kept_[id];
    replaced = std::move(e.open);  // cannot happen: ids are unique
    e.open = std::move(o);
    e.deadline = deadline;
  }
  cv_.notify_all();
  if (replaced) closer_(std::move(replaced));
}

std::unique_ptr<Open> DurableTable::Take(
    uint64_t persistent, const std::function<uint32_t(const Open&)>& accept,
    uint32_t* status) {
  std::lock_guard<std::mutex> g(mu_);
  auto it = kept_.find(persistent);
  if (it == kept_.end()) {
    *status = kStatusObjectNameNotFound;
    return nullptr;
  }
  *status = accept(*it->second.open);
  if (*status != kStatusSuccess) return nullptr;
  std::unique_ptr<Open> o = std::move(it->second.open);
  kept_.erase(it);
  return o;
}

bool DurableTable::Purge(uint64_t persistent) {
  std::unique_ptr<Open> o;
  {
    std::lock_guard<std::mutex> g(mu_);
    auto it = kept_.find(persistent);
    if (it == kept_.end()) return false;
    o = std::move(it->second.open);
    kept_.erase(it);
  }
  closer_(std::move(o));
  return true;
}

void DurableTable::PurgeCreateGuid(const std::string& client_guid,
                                   const std::string& create_guid) {
  std::vector<std::unique_ptr<Open>> gone;
  {
    std::lock_guard<std::mutex> g(mu_);
    for (auto it = kept_.begin(); it != kept_.end();) {
      const Open& o = *it->second.open;
      if (o.durable == 2 && o.client_guid == client_guid &&
          o.create_guid == create_guid) {
        gone.push_back(std::move(it->second.open));
        it = kept_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& o : gone) closer_(std::move(o));
}

size_t DurableTable::size() const {
  std::lock_guard<std::mutex> g(mu_);
  return kept_.size();
}

std::vector<DurableTable::KeptInfo> DurableTable::Kept() const {
  std::lock_guard<std::mutex> g(mu_);
  std::vector<KeptInfo> out;
  for (const auto& [id, e] : kept_) {
    out.push_back({e.open->user, e.open->client_guid, e.open->owner_session});
  }
  return out;
}

void DurableTable::TimerLoop() {
  std::unique_lock<std::mutex> g(mu_);
  while (!stop_) {
    auto now = std::chrono::steady_clock::now();
    auto next = std::chrono::steady_clock::time_point::max();
    std::vector<std::unique_ptr<Open>> expired;
    for (auto it = kept_.begin(); it != kept_.end();) {
      if (it->second.deadline <= now) {
        expired.push_back(std::move(it->second.open));
        it = kept_.erase(it);
      } else {
        next = std::min(next, it->second.deadline);
        ++it;
      }
    }
    if (!expired.empty()) {
      g.unlock();
      for (auto& o : expired) closer_(std::move(o));
      g.lock();
      continue;
    }
    if (next == std::chrono::steady_clock::time_point::max()) {
      cv_.wait(g);
    } else {
      cv_.wait_until(g, next);
    }
  }
}

}  // namespace concordfs::smb
