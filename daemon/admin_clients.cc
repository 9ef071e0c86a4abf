#include "daemon/admin_clients.h"

#include <algorithm>
#include <set>

#include "daemon/admin_handlers.h"

namespace concordfs {

using admin::Json;
using locking::Protocol;

namespace {

// Row order: NFS, SMB, local, admin.
int ProtocolRank(const std::string& p) {
  if (p == "nfs") return 0;
  if (p == "smb") return 1;
  if (p == "local") return 2;
  return 3;
}

Json CountFields(Json j, const ClientCounts& c) {
  j["locks"] = c.locks;
  j["waiting"] = c.waiting;
  return j;
}

const ClientCounts& CountsOf(const ClientCountMap& m, Protocol p, uint64_t id) {
  static const ClientCounts kNone;
  auto it = m.find({p, id});
  return it == m.end() ? kNone : it->second;
}

}  // namespace

ClientCountMap CountByClient(const std::vector<locking::LockInfo>& locks,
                             const std::vector<locking::WaiterInfo>& waiters,
                             const std::vector<locking::ShareEntry>& opens) {
  ClientCountMap out;
  for (const auto& l : locks) {
    ++out[{l.lock.owner.protocol, l.lock.owner.client}].locks;
  }
  for (const auto& w : waiters) {
    ++out[{w.wanted.owner.protocol, w.wanted.owner.client}].waiting;
  }
  for (const auto& o : opens) {
    ++out[{o.open.owner.protocol, o.open.owner.client}].opens;
  }
  return out;
}

Json NfsClientRow(const rpc::NlmHostInfo& h, const ClientCounts& c) {
  Json j;
  j["protocol"] = "nfs";
  j["client"] = h.name;
  j["client_id"] = rpc::NlmClientId(h.name);
  j["address"] = h.address;
  j["nsm_state"] = h.nsm_state ? Json(*h.nsm_state) : Json(nullptr);
  j["monitored"] = h.monitored;
  j["bound"] = h.bound;
  j["shares"] = c.opens;  // NLM SHARE reservations
  return CountFields(std::move(j), c);
}

Json SmbClientRow(const smb::SmbSessionInfo& s, const ClientCounts& c) {
  Json j;
  j["protocol"] = "smb";
  j["client"] = ClientLabel(Protocol::kSmb, s.session_id, {});
  j["client_id"] = s.session_id;
  j["session_id"] = s.session_id;
  j["address"] = s.client;
  j["user"] = s.user;
  j["guest"] = s.guest;
  j["dialect"] = s.dialect;
  j["signing"] = s.signing;
  j["encrypted"] = s.encrypted;
  j["trees"] = s.trees;
  j["opens"] = s.opens;
  j["oplocks"] = s.oplocks;
  j["leases"] = s.leases;
  j["durable"] = s.durable;
  j["disconnected"] = s.disconnected;
  j["age_ms"] = s.age_seconds > 0 ? static_cast<uint64_t>(s.age_seconds) * 1000
                                  : uint64_t{0};
  return CountFields(std::move(j), c);
}

Json HolderRow(Protocol p, uint64_t id, const std::string& label,
               const ClientCounts& c) {
  Json j;
  j["protocol"] = ProtocolLabel(p);
  j["client"] = label;
  j["client_id"] = id;
  j["address"] = "";
  // Not listed by its front end: only what the lock manager holds is known.
  j["listed"] = false;
  if (p == Protocol::kNlm) {
    j["shares"] = c.opens;
  } else {
    j["opens"] = c.opens;
  }
  return CountFields(std::move(j), c);
}

std::vector<Json> ClientRows(const std::vector<rpc::NlmHostInfo>& hosts,
                             const std::vector<smb::SmbSessionInfo>& sessions,
                             const ClientCountMap& counts) {
  std::vector<Json> rows;
  std::set<ClientKey> listed;
  std::map<uint64_t, std::string> host_names;
  for (const rpc::NlmHostInfo& h : hosts) {
    const uint64_t id = rpc::NlmClientId(h.name);
    listed.insert({Protocol::kNlm, id});
    host_names[id] = h.name;
    rows.push_back(NfsClientRow(h, CountsOf(counts, Protocol::kNlm, id)));
  }
  for (const smb::SmbSessionInfo& s : sessions) {
    listed.insert({Protocol::kSmb, s.session_id});
    rows.push_back(
        SmbClientRow(s, CountsOf(counts, Protocol::kSmb, s.session_id)));
  }
  for (const auto& [key, c] : counts) {
    if (listed.count(key)) continue;
    // Local processes share client id 0: one row, whatever their pids.
    rows.push_back(HolderRow(key.first, key.second,
                             ClientLabel(key.first, key.second, host_names),
                             c));
  }
  std::stable_sort(rows.begin(), rows.end(), [](const Json& a, const Json& b) {
    const int ra = ProtocolRank(a.value("protocol", ""));
    const int rb = ProtocolRank(b.value("protocol", ""));
    if (ra != rb) return ra < rb;
    return a.value("client", "") < b.value("client", "");
  });
  return rows;
}

}  // namespace concordfs
