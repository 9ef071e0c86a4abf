#include "locking/share_modes.h"

namespace concordfs::locking {

struct ShareModeTable::Shard {
  mutable std::mutex mu;
  std::unordered_map<FileId, std::vector<ShareOpen>> files;  // GUARDED_BY(mu)
};

bool ShareConflict(const ShareOpen& a, const ShareOpen& b) {
  return (a.access & ~b.share & kShareAll) != 0 ||
         (b.access & ~a.share & kShareAll) != 0;
}

ShareModeTable::ShareModeTable(size_t shards) {
  if (shards == 0) shards = 1;
  for (size_t i = 0; i < shards; ++i)
    shards_.push_back(std::make_unique<Shard>());
}

ShareModeTable::~ShareModeTable() = default;

ShareModeTable::Shard& ShareModeTable::ShardOf(FileId f) const {
  return *shards_[(f * 0x9E3779B97F4A7C15ULL >> 32) % shards_.size()];
}

namespace {
std::optional<ShareOpen> FirstConflict(const std::vector<ShareOpen>& opens,
                                       const ShareOpen& o) {
  for (const ShareOpen& x : opens) {
    if (x.owner == o.owner) continue;  // a re-open replaces its own entry
    if (ShareConflict(x, o)) return x;
  }
  return std::nullopt;
}
}  // namespace

std::optional<ShareOpen> ShareModeTable::Open(FileId file,
                                              const ShareOpen& open) {
  Shard& s = ShardOf(file);
  std::lock_guard<std::mutex> l(s.mu);
  std::vector<ShareOpen>& opens = s.files[file];
  if (auto c = FirstConflict(opens, open)) {
    if (opens.empty()) s.files.erase(file);
    return c;
  }
  for (ShareOpen& x : opens) {
    if (x.owner == open.owner) {
      x = open;
      return std::nullopt;
    }
  }
  opens.push_back(open);
  return std::nullopt;
}

std::optional<ShareOpen> ShareModeTable::Check(FileId file,
                                               const ShareOpen& open) const {
  Shard& s = ShardOf(file);
  std::lock_guard<std::mutex> l(s.mu);
  auto it = s.files.find(file);
  if (it == s.files.end()) return std::nullopt;
  return FirstConflict(it->second, open);
}

std::vector<ShareOpen> ShareModeTable::OpensOf(FileId file) const {
  Shard& s = ShardOf(file);
  std::lock_guard<std::mutex> l(s.mu);
  auto it = s.files.find(file);
  if (it == s.files.end()) return {};
  return std::vector<ShareOpen>(it->second.begin(), it->second.end());
}

bool ShareModeTable::Close(FileId file, const Owner& owner) {
  Shard& s = ShardOf(file);
  std::lock_guard<std::mutex> l(s.mu);
  auto it = s.files.find(file);
  if (it == s.files.end()) return false;
  size_t n = std::erase_if(
      it->second, [&](const ShareOpen& x) { return x.owner == owner; });
  if (it->second.empty()) s.files.erase(it);
  return n > 0;
}

size_t ShareModeTable::CloseClient(Protocol protocol, uint64_t client) {
  size_t n = 0;
  for (auto& sp : shards_) {
    std::lock_guard<std::mutex> l(sp->mu);
    for (auto it = sp->files.begin(); it != sp->files.end();) {
      n += std::erase_if(it->second, [&](const ShareOpen& x) {
        return x.owner.protocol == protocol && x.owner.client == client;
      });
      it = it->second.empty() ? sp->files.erase(it) : std::next(it);
    }
  }
  return n;
}

void ShareModeTable::List(std::vector<ShareEntry>* out) const {
  out->clear();
  for (auto& sp : shards_) {
    std::lock_guard<std::mutex> l(sp->mu);
    for (const auto& [file, opens] : sp->files) {
      for (const ShareOpen& o : opens) out->push_back(ShareEntry{file, o});
    }
  }
}

}  // namespace concordfs::locking
