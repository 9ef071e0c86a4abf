// NotifyHub: feeds SMB CHANGE_NOTIFY watches from the vfs change events of
// every front end (a file created through FUSE or NFS is reported to a
// waiting SMB client like one created over SMB).
//
// A watch names a directory; names added to or removed from it are
// delivered as FILE_ACTION_ADDED / FILE_ACTION_REMOVED with the name, and
// changes of the attributes or data of its entries as FILE_ACTION_MODIFIED
// (the hub keeps an inode -> name index of each watched directory, read
// once when the first watch on it starts and kept current from the events;
// a directory of more than kMaxIndexed entries is not itemized). A
// WATCH_TREE watch also learns of changes deeper down, delivered as
// "enumerate the directory again" (the names of intermediate directories
// are not tracked), which is what Windows answers when it cannot list the
// changes.
//
// Thread safety: thread-safe. Sinks run on the thread that made the change,
// with no hub mutex held; they must not block (connections post).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "vfs/vfs.h"

namespace concordfs::smb {

inline constexpr uint32_t kFileActionAdded = 1;
inline constexpr uint32_t kFileActionRemoved = 2;
inline constexpr uint32_t kFileActionModified = 3;
// Not actions on the wire: "too much changed, enumerate again", and "the
// watched directory is being deleted" (waiting watches end with
// STATUS_DELETE_PENDING).
inline constexpr uint32_t kFileActionEnumDir = 0xFFFFFFFF;
inline constexpr uint32_t kFileActionDeletePending = 0xFFFFFFFE;
// Completion filter bits that name changes report under.
inline constexpr uint32_t kNotifyChangeFileName = 0x1;
inline constexpr uint32_t kNotifyChangeDirName = 0x2;

struct NotifyChange {
  uint32_t action = 0;
  std::string name;  // UTF-8, relative to the watched directory
};

class NotifyHub {
 public:
  using Sink = std::function<void(const NotifyChange&)>;
  explicit NotifyHub(Vfs* vfs);
  ~NotifyHub();
  NotifyHub(const NotifyHub&) = delete;
  NotifyHub& operator=(const NotifyHub&) = delete;

  // `filter`: the CHANGE_NOTIFY completion filter; names of files are
  // reported under FILE_NAME, of directories under DIR_NAME.
  uint64_t Watch(InodeId dir, bool tree, uint32_t filter, Sink sink);
  void Unwatch(uint64_t id);
  // `dir` was marked for deletion: its watches are told.
  void DeletePending(InodeId dir);

 private:
  struct WatchEntry {
    uint64_t id;
    bool tree;
    uint32_t filter;
    Sink sink;
  };
  static constexpr size_t kMaxIndexed = 100000;
  void OnChange(const ChangeEvent& ev);
  void OnModified(const ChangeEvent& ev);
  // The entries of a newly watched directory, by inode.
  void IndexLocked(InodeId dir,
                   const std::unordered_map<InodeId, std::string>& names);
  void UnindexLocked(InodeId dir);

  Vfs* vfs_;
  uint64_t token_ = 0;
  std::mutex mu_;
  uint64_t next_id_ = 1;  // GUARDED_BY(mu_)
  std::unordered_map<InodeId, std::vector<WatchEntry>> by_dir_;  // GUARDED_BY
  size_t tree_watches_ = 0;  // GUARDED_BY(mu_)
  // Watches in total: every write's event is dropped with one atomic load
  // while nobody watches.
  std::atomic<size_t> watches_{0};
  // Entries of watched directories: inode -> (directory, name).
  std::unordered_multimap<InodeId, std::pair<InodeId, std::string>>
      entries_;  // GUARDED_BY(mu_)
};

}  // namespace concordfs::smb
