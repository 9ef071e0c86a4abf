// ShareModeTable: which opens of a file exist, what access each wants and
// what it lets others do (SMB share access / deny modes, NLM SHARE, local
// opens). One table for every protocol, so an SMB open that denies write
// fails while a local writer has the file open, and the reverse.
//
// Masks use kAccessRead/Write/Delete for both access and share. A local
// (FUSE) open shares everything; NLM SHARE's deny mode is ~share.
// Thread-safe; sharded by file like the lock manager.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "locking/lock_types.h"

namespace concordfs::locking {

inline constexpr uint32_t kAccessRead = 1;
inline constexpr uint32_t kAccessWrite = 2;
inline constexpr uint32_t kAccessDelete = 4;
inline constexpr uint32_t kShareAll =
    kAccessRead | kAccessWrite | kAccessDelete;

struct ShareOpen {
  Owner owner;                 // protocol, client, open id identify the open
  uint32_t access = 0;         // what this open does
  uint32_t share = kShareAll;  // what it lets other opens do
};

struct ShareEntry {
  FileId file = 0;
  ShareOpen open;
};

class ShareModeTable {
 public:
  explicit ShareModeTable(size_t shards = 64);
  ~ShareModeTable();

  // Registers `open` on `file` unless it conflicts with an existing open
  // (its access is not shared by them, or theirs is not shared by it);
  // then returns the first conflicting open and registers nothing. An
  // owner registering twice replaces its entry (NLM SHARE retransmits).
  std::optional<ShareOpen> Open(FileId file, const ShareOpen& open);
  // Would `open` conflict? Same answer as Open, registers nothing.
  std::optional<ShareOpen> Check(FileId file, const ShareOpen& open) const;
  // The opens registered on `file`.
  std::vector<ShareOpen> OpensOf(FileId file) const;
  // Removes the open of `owner` on `file`; false if none.
  bool Close(FileId file, const Owner& owner);
  // Removes every open of a client (NLM FREE_ALL, SMB logoff); returns count.
  size_t CloseClient(Protocol protocol, uint64_t client);
  void List(std::vector<ShareEntry>* out) const;

 private:
  struct Shard;
  Shard& ShardOf(FileId f) const;
  std::vector<std::unique_ptr<Shard>> shards_;
};

// Do two opens exclude each other?
bool ShareConflict(const ShareOpen& a, const ShareOpen& b);

}  // namespace concordfs::locking
