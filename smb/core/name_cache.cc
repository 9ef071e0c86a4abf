#include "smb/core/name_cache.h"

#include <cerrno>
#include <vector>

#include "smb/wire/unicode.h"

namespace concordfs::smb {

NameCache::NameCache(Vfs* vfs, size_t max_dirs)
    : vfs_(vfs), max_dirs_(max_dirs) {
  token_ = vfs_->Subscribe([this](const ChangeEvent& ev) { OnChange(ev); });
}

NameCache::~NameCache() { vfs_->Unsubscribe(token_); }

void NameCache::OnChange(const ChangeEvent& ev) {
  if (ev.kind != ChangeEvent::Kind::kEntryAdded &&
      ev.kind != ChangeEvent::Kind::kEntryRemoved) {
    return;
  }
  std::lock_guard<std::mutex> g(mu_);
  auto it = dirs_.find(ev.parent);
  if (it == dirs_.end()) return;
  std::string upper = Utf8ToUpper(ev.name);
  if (ev.kind == ChangeEvent::Kind::kEntryAdded) {
    it->second.by_upper.emplace(upper, ev.name);
  } else {
    auto e = it->second.by_upper.find(upper);
    if (e != it->second.by_upper.end() && e->second == ev.name) {
      it->second.by_upper.erase(e);
    }
  }
}

bool NameCache::Find(const OpContext& ctx, InodeId dir,
                     const std::string& upper, std::string* actual) {
  {
    std::lock_guard<std::mutex> g(mu_);
    auto it = dirs_.find(dir);
    if (it != dirs_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second.lru);
      auto e = it->second.by_upper.find(upper);
      if (e == it->second.by_upper.end()) return false;
      *actual = e->second;
      return true;
    }
  }
  // Build the index. A name added or removed while it is being built may
  // be missed; an exact lookup still finds every name, and a stale entry
  // drops the index (see Lookup).
  Index idx;
  std::vector<std::string> names;
  Status s = vfs_->ReadDir(ctx, dir, 0, 0, false, [&](const ReadDirEntry& e) {
    if (e.name != "." && e.name != "..") names.push_back(e.name);
    return true;
  });
  if (!s.ok()) return false;
  for (const std::string& n : names) idx.by_upper.emplace(Utf8ToUpper(n), n);
  std::lock_guard<std::mutex> g(mu_);
  auto [it, inserted] = dirs_.emplace(dir, std::move(idx));
  if (inserted) {
    lru_.push_front(dir);
    it->second.lru = lru_.begin();
    while (dirs_.size() > max_dirs_) {
      dirs_.erase(lru_.back());
      lru_.pop_back();
    }
  }
  auto e = it->second.by_upper.find(upper);
  if (e == it->second.by_upper.end()) return false;
  *actual = e->second;
  return true;
}

Result<Attr> NameCache::Lookup(const OpContext& ctx, InodeId dir,
                               std::string_view name, std::string* stored) {
  auto a = vfs_->Lookup(ctx, dir, name);
  if (stored) *stored = std::string(name);
  if (a.ok() || a.status().code() != ENOENT) return a;
  std::string actual;
  if (!Find(ctx, dir, Utf8ToUpper(name), &actual) || actual == name) return a;
  auto b = vfs_->Lookup(ctx, dir, actual);
  if (b.ok() && stored) *stored = actual;
  if (b.ok() || b.status().code() != ENOENT) return b;
  // Stale index entry (removed without our seeing it): forget the dir.
  std::lock_guard<std::mutex> g(mu_);
  auto it = dirs_.find(dir);
  if (it != dirs_.end()) {
    lru_.erase(it->second.lru);
    dirs_.erase(it);
  }
  return a;
}

}  // namespace concordfs::smb
