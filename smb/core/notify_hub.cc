#include "smb/core/notify_hub.h"

namespace concordfs::smb {

NotifyHub::NotifyHub(Vfs* vfs) : vfs_(vfs) {
  token_ = vfs_->Subscribe([this](const ChangeEvent& ev) { OnChange(ev); });
}

NotifyHub::~NotifyHub() { vfs_->Unsubscribe(token_); }

uint64_t NotifyHub::Watch(InodeId dir, bool tree, uint32_t filter, Sink sink) {
  std::lock_guard<std::mutex> g(mu_);
  uint64_t id = next_id_++;
  by_dir_[dir].push_back(WatchEntry{id, tree, filter, std::move(sink)});
  if (tree) ++tree_watches_;
  return id;
}

void NotifyHub::Unwatch(uint64_t id) {
  std::lock_guard<std::mutex> g(mu_);
  for (auto it = by_dir_.begin(); it != by_dir_.end(); ++it) {
    auto& v = it->second;
    for (auto w = v.begin(); w != v.end(); ++w) {
      if (w->id != id) continue;
      if (w->tree) --tree_watches_;
      v.erase(w);
      if (v.empty()) by_dir_.erase(it);
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

void NotifyHub::OnChange(const ChangeEvent& ev) {
  if (ev.kind != ChangeEvent::Kind::kEntryAdded &&
      ev.kind != ChangeEvent::Kind::kEntryRemoved) {
    return;
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
