// A metadata store held in memory: same semantics as LevelDB, no durability.
#include <map>
#include <shared_mutex>

#include "metadata/metadata_store.h"

namespace concordfs {
namespace {

class MemoryStore : public MetadataStore {
 public:
  Status Get(std::string_view key, std::string* value) override {
    std::shared_lock l(mu_);
    auto it = map_.find(key);
    if (it == map_.end()) return Status::NotFound();
    *value = it->second;
    return Status::Ok();
  }

  Status Scan(std::string_view prefix, std::string_view start,
              const std::function<bool(std::string_view, std::string_view)>& fn)
      override {
    // Copy the range first so `fn` runs without the lock (it may call back
    // into the store) and sees a consistent snapshot.
    std::vector<std::pair<std::string, std::string>> snap;
    {
      std::shared_lock l(mu_);
      for (auto it = map_.lower_bound(start); it != map_.end(); ++it) {
        if (std::string_view(it->first).substr(0, prefix.size()) != prefix) {
          break;
        }
        snap.emplace_back(it->first, it->second);
      }
    }
    for (const auto& [k, v] : snap) {
      if (!fn(k, v)) break;
    }
    return Status::Ok();
  }

  Status Write(const MetadataBatch& batch) override {
    std::unique_lock l(mu_);
    for (const auto& op : batch.ops()) {
      if (op.value) {
        map_.insert_or_assign(op.key, *op.value);
      } else {
        auto it = map_.find(op.key);
        if (it != map_.end()) map_.erase(it);
      }
    }
    return Status::Ok();
  }

  Status Sync() override { return Status::Ok(); }
  SyncPolicy sync_policy() const override { return SyncPolicy::kNone; }
  std::string Describe() const override { return "memory"; }

 private:
  std::shared_mutex mu_;
  std::map<std::string, std::string, std::less<>> map_;  // GUARDED_BY(mu_)
};

}  // namespace

std::unique_ptr<MetadataStore> NewMemoryStore() {
  return std::make_unique<MemoryStore>();
}

}  // namespace concordfs
