#include "smb/core/notify_hub.h"

namespace concordfs::smb {

NotifyHub::NotifyHub(Vfs* vfs) : vfs_(vfs) {
  token_ = vfs_->Subscribe([this](const ChangeEvent& ev) { OnChange(ev); });
}

NotifyHub::~NotifyHub() { vfs_->Unsubscribe(token_); }

uint64_t NotifyHub::Watch(InodeId dir, bool tree, uint32_t filter, Sink sink) {
  bool indexed;
  {
    std::lock_guard<std::mutex> g(mu_);
    indexed = by_dir_.count(dir) != 0;
  }
  // The directory's entries, for naming modified ones (read outside the
  // mutex; events in between are caught up by the entry events).
  std::unordered_map<InodeId, std::string> names;
  bool complete = true;
  if (!indexed) {
    OpContext root;
    Status st =
        vfs_->ReadDir(root, dir, 0, 0, false, [&](const ReadDirEntry& e) {
          if (e.name == "." || e.name == "..") return true;
          names.emplace(e.ino, e.name);
          if (names.size() > kMaxIndexed) {
            complete = false;
            return false;
          }
          return true;
        });
    if (!st.ok() || !complete) names.clear();
  }
  std::lock_guard<std::mutex> g(mu_);
  uint64_t id = next_id_++;
  auto& v = by_dir_[dir];
  if (v.empty()) IndexLocked(dir, names);
  v.push_back(WatchEntry{id, tree, filter, std::move(sink)});
  if (tree) ++tree_watches_;
  ++watches_;
  return id;
}

void NotifyHub::IndexLocked(
    InodeId dir, const std::unordered_map<InodeId, std::string>& names) {
  for (const auto& [ino, name] : names)
    entries_.emplace(ino, std::pair(dir, name));
}

void NotifyHub::UnindexLocked(InodeId dir) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    it = it->second.first == dir ? entries_.erase(it) : std::next(it);
  }
}

void NotifyHub::Unwatch(uint64_t id) {
  std::lock_guard<std::mutex> g(mu_);
  for (auto it = by_dir_.begin(); it != by_dir_.end(); ++it) {
    auto& v = it->second;
    for (auto w = v.begin(); w != v.end(); ++w) {
      if (w->id != id) continue;
      if (w->tree) --tree_watches_;
      --watches_;
      v.erase(w);
      if (v.empty()) {
        UnindexLocked(it->first);
        by_dir_.erase(it);
      }
      return;
    }
  }
}

void NotifyHub::DeletePending(InodeId dir) {
  std::vector<Sink> sinks;
  {
    std::lock_guard<std::mutex> g(mu_);
    auto it = by_dir_.find(dir);
    if (it == by_dir_.end()) return;
    for (const WatchEntry& w : it->second) sinks.push_back(w.sink);
  }
  NotifyChange ch{kFileActionDeletePending, {}};
  for (const Sink& s : sinks) s(ch);
}

void NotifyHub::OnModified(const ChangeEvent& ev) {
  // Attribute changes report under ATTRIBUTES, LAST_WRITE, LAST_ACCESS,
  // CREATION, EA and SECURITY; data changes under SIZE and LAST_WRITE.
  uint32_t mask = ev.kind == ChangeEvent::Kind::kData ? 0x8 | 0x10 : 0x1F4;
  std::vector<std::pair<Sink, std::string>> out;
  {
    std::lock_guard<std::mutex> g(mu_);
    if (entries_.empty()) return;
    auto [b, e] = entries_.equal_range(ev.ino);
    for (auto it = b; it != e; ++it) {
      auto d = by_dir_.find(it->second.first);
      if (d == by_dir_.end()) continue;
      for (const WatchEntry& w : d->second) {
        if (w.filter & mask) out.emplace_back(w.sink, it->second.second);
      }
    }
  }
  for (auto& [sink, name] : out) sink(NotifyChange{kFileActionModified, name});
}

void NotifyHub::OnChange(const ChangeEvent& ev) {
  if (watches_.load(std::memory_order_acquire) == 0) return;
  if (ev.kind == ChangeEvent::Kind::kAttr ||
      ev.kind == ChangeEvent::Kind::kData) {
    return OnModified(ev);
  }
  {
    // Keep the watched directories' entry index current.
    std::lock_guard<std::mutex> g(mu_);
    if (by_dir_.count(ev.parent)) {
      if (ev.kind == ChangeEvent::Kind::kEntryAdded) {
        entries_.emplace(ev.ino, std::pair(ev.parent, ev.name));
      } else {
        auto [b, e] = entries_.equal_range(ev.ino);
        for (auto it = b; it != e; ++it) {
          if (it->second.first == ev.parent && it->second.second == ev.name) {
            entries_.erase(it);
            break;
          }
        }
      }
    }
  }
  NotifyChange direct{ev.kind == ChangeEvent::Kind::kEntryAdded
                          ? kFileActionAdded
                          : kFileActionRemoved,
                      ev.name};
  std::vector<Sink> now, deeper;
  bool any_tree = false;
  {
    std::lock_guard<std::mutex> g(mu_);
    if (by_dir_.empty()) return;
    any_tree = tree_watches_ > 0;
    if (by_dir_.find(ev.parent) == by_dir_.end() && !any_tree) return;
  }
  // A directory or a file (a removed name's inode may be gone: both).
  uint32_t kind = kNotifyChangeFileName | kNotifyChangeDirName;
  if (ev.ino != kInvalidInode) {
    auto a = vfs_->GetAttr(ev.ino);
    if (a.ok()) {
      kind = a->inode.is_dir() ? kNotifyChangeDirName : kNotifyChangeFileName;
    }
  }
  {
    std::lock_guard<std::mutex> g(mu_);
    auto it = by_dir_.find(ev.parent);
    if (it != by_dir_.end()) {
      for (const WatchEntry& w : it->second) {
        if (w.filter & kind) now.push_back(w.sink);
      }
    }
  }
  for (const Sink& s : now) s(direct);
  if (!any_tree) return;
  // Tree watches above the parent: walk up (directories record their
  // parent) and tell each one to enumerate again.
  InodeId dir = ev.parent;
  for (int depth = 0; depth < 64; ++depth) {
    auto a = vfs_->GetAttr(dir);
    if (!a.ok() || a->inode.parent == dir || a->inode.parent == kInvalidInode)
      break;
    dir = a->inode.parent;
    std::lock_guard<std::mutex> g(mu_);
    auto it = by_dir_.find(dir);
    if (it == by_dir_.end()) continue;
    for (const WatchEntry& w : it->second) {
      if (w.tree) deeper.push_back(w.sink);
    }
  }
  NotifyChange enum_dir{kFileActionEnumDir, {}};
  for (const Sink& s : deeper) s(enum_dir);
}

}  // namespace concordfs::smb
