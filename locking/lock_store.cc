#include "locking/lock_store.h"

#include "util/coding.h"

namespace concordfs::locking {
namespace {
constexpr uint8_t kFormat = 1;
}

std::string EncodeOwnerKey(FileId file, const Owner& o) {
  std::string k;
  PutU64(&k, file);
  PutU8(&k, static_cast<uint8_t>(o.protocol));
  PutU64(&k, o.client);
  PutU64(&k, o.open);
  k.append(o.owner);
  return k;
}

std::string EncodeLocks(const std::vector<Lock>& locks) {
  std::string v;
  PutU8(&v, kFormat);
  PutU32(&v, static_cast<uint32_t>(locks.size()));
  for (const Lock& l : locks) {
    PutU8(&v, static_cast<uint8_t>(l.flavor));
    PutU8(&v, static_cast<uint8_t>(l.mode));
    PutU64(&v, l.range.first);
    PutU64(&v, l.range.last);
    PutU8(&v, l.range.zero_length ? 1 : 0);
    PutU32(&v, l.pid);
  }
  return v;
}

Status DecodePersisted(std::string_view key, std::string_view value,
                       PersistedLocks* out) {
  Decoder k(key);
  out->file = k.U64();
  uint8_t proto = k.U8();
  out->owner.client = k.U64();
  out->owner.open = k.U64();
  out->owner.owner = std::string(k.Rest());
  if (!k.ok() || proto < 1 || proto > 4) {
    return Status::Corruption("lock record: bad key");
  }
  out->owner.protocol = static_cast<Protocol>(proto);
  Decoder d(value);
  if (d.U8() != kFormat) return Status::Corruption("lock record: format");
  uint32_t n = d.U32();
  out->locks.clear();
  for (uint32_t i = 0; i < n && d.ok(); ++i) {
    Lock l;
    l.owner = out->owner;
    uint8_t fl = d.U8(), mode = d.U8();
    l.range.first = d.U64();
    l.range.last = d.U64();
    l.range.zero_length = d.U8() != 0;
    l.pid = d.U32();
    l.durable = true;
    if (fl < 1 || fl > 3 || mode < 1 || mode > 2) {
      return Status::Corruption("lock record: bad lock");
    }
    l.flavor = static_cast<Flavor>(fl);
    l.mode = static_cast<LockMode>(mode);
    out->locks.push_back(l);
  }
  if (!d.done()) return Status::Corruption("lock record: length");
  return Status::Ok();
}

Status MemoryLockStore::Save(const std::vector<PersistedLocks>& changes) {
  std::lock_guard<std::mutex> l(mu_);
  if (fail_next_) {
    fail_next_ = false;
    return Status::Io("injected save failure");
  }
  for (const auto& c : changes) {
    std::string key = EncodeOwnerKey(c.file, c.owner);
    if (c.locks.empty()) {
      data_.erase(key);
    } else {
      data_[key] = EncodeLocks(c.locks);
    }
  }
  return Status::Ok();
}

Status MemoryLockStore::LoadAll(std::vector<PersistedLocks>* out) {
  std::lock_guard<std::mutex> l(mu_);
  out->clear();
  for (const auto& [k, v] : data_) {
    PersistedLocks p;
    CFS_RETURN_IF_ERROR(DecodePersisted(k, v, &p));
    out->push_back(std::move(p));
  }
  return Status::Ok();
}

Result<uint64_t> MemoryLockStore::NextEpoch() {
  std::lock_guard<std::mutex> l(mu_);
  return ++epoch_;
}

}  // namespace concordfs::locking
