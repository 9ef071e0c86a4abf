#include "daemon/lock_store.h"

#include "metadata/keys.h"
#include "util/coding.h"

namespace concordfs {
namespace {

class MetadataLockStore : public locking::LockStore {
 public:
  explicit MetadataLockStore(MetadataStore* md) : md_(md) {}

  Status Save(const std::vector<locking::PersistedLocks>& changes) override {
    MetadataBatch b;
    // Only a grant must be on disk before the client hears of it. A lost
    // unlock is harmless: the lock comes back at restart, its owner does not
    // reclaim it, and it is dropped when grace ends.
    bool grows = false;
    for (const auto& c : changes) grows |= !c.locks.empty();
    b.set_durable(grows);
    for (const auto& c : changes) {
      std::string key = keys::TagPrefix(keys::kLockRecord) +
                        locking::EncodeOwnerKey(c.file, c.owner);
      if (c.locks.empty()) {
        b.Delete(std::move(key));
      } else {
        b.Put(std::move(key), locking::EncodeLocks(c.locks));
      }
    }
    // Under sync: batch a durable batch is synced (grouped with concurrent
    // saves); sync: none promises nothing across a crash, for locks as for
    // everything else (clients reclaim after SM_NOTIFY either way).
    return md_->Write(b);
  }

  Status LoadAll(std::vector<locking::PersistedLocks>* out) override {
    out->clear();
    std::string prefix = keys::TagPrefix(keys::kLockRecord);
    Status inner;
    CFS_RETURN_IF_ERROR(
        md_->Scan(prefix, prefix, [&](std::string_view k, std::string_view v) {
          locking::PersistedLocks p;
          inner = locking::DecodePersisted(k.substr(1), v, &p);
          if (!inner.ok()) return false;
          out->push_back(std::move(p));
          return true;
        }));
    return inner;
  }

  Result<uint64_t> NextEpoch() override {
    std::string key = keys::TagPrefix(keys::kLockEpoch);
    std::string v;
    uint64_t epoch = 0;
    Status st = md_->Get(key, &v);
    if (st.ok()) {
      Decoder d(v);
      epoch = d.U64();
      if (!d.done()) return Status::Corruption("lock epoch record");
    } else if (st.code() != ENOENT) {
      return st;
    }
    ++epoch;
    std::string nv;
    PutU64(&nv, epoch);
    MetadataBatch b;
    b.Put(key, nv);
    CFS_RETURN_IF_ERROR(md_->Write(b));
    CFS_RETURN_IF_ERROR(md_->Sync());
    return epoch;
  }

 private:
  MetadataStore* md_;
};

}  // namespace

std::unique_ptr<locking::LockStore> NewMetadataLockStore(MetadataStore* md) {
  return std::make_unique<MetadataLockStore>(md);
}

}  // namespace concordfs
