#include "daemon/admin_handlers.h"

#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <exception>
#include <set>

#include "daemon/admin_clients.h"
#include "daemon/backend.h"
#include "daemon/nfs_service.h"
#include "daemon/smb_service.h"
#include "metadata/records.h"
#include "util/log.h"

namespace concordfs {

using admin::Json;
using locking::Protocol;

namespace {

// Entries visited at most when looking for the paths of locked files.
constexpr size_t kPathWalkLimit = 200000;

std::string Hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

uint64_t AgeMs(NanoTime now, NanoTime since) {
  return now > since ? static_cast<uint64_t>(now - since) / 1000000 : 0;
}

Json RangeFields(Json j, const locking::Range& r) {
  j["first"] = r.first;
  j["last"] = r.last == locking::kToEof && !r.zero_length ? Json(nullptr)
                                                          : Json(r.last);
  j["zero_length"] = r.zero_length;
  return j;
}

Json CommonEntry(const char* state, locking::FileId file,
                 const locking::Lock& l, NanoTime now,
                 const std::string& client, const std::string& path) {
  Json j;
  j["state"] = state;
  j["protocol"] = ProtocolLabel(l.owner.protocol);
  j["client"] = client;
  j["client_id"] = l.owner.client;
  j["owner"] = l.owner.ToString();
  j["pid"] = l.pid;
  j["file"] = file;
  j["path"] = path.empty() ? Json(nullptr) : Json(path);
  j = RangeFields(std::move(j), l.range);
  j["mode"] = l.mode == locking::LockMode::kExclusive ? "exclusive" : "shared";
  j["flavour"] = locking::FlavorName(l.flavor);
  j["age_ms"] = AgeMs(now, l.since);
  return j;
}

bool ParseId(const std::string& s, uint64_t* out) {
  if (s.empty()) return false;
  const bool hex = s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
  const std::string digits = hex ? s.substr(2) : s;
  if (digits.empty()) return false;
  for (char c : digits) {
    if (!(hex ? std::isxdigit(static_cast<unsigned char>(c))
              : std::isdigit(static_cast<unsigned char>(c)))) {
      return false;
    }
  }
  errno = 0;
  *out = std::strtoull(digits.c_str(), nullptr, hex ? 16 : 10);
  return errno == 0;
}

// "10.0.0.1:445" -> "10.0.0.1", "[::1]:445" -> "::1"; else unchanged.
std::string HostPart(const std::string& address) {
  if (!address.empty() && address[0] == '[') {
    const size_t end = address.find(']');
    return end == std::string::npos ? address : address.substr(1, end - 1);
  }
  const size_t colon = address.find(':');
  if (colon != std::string::npos &&
      address.find(':', colon + 1) == std::string::npos) {
    return address.substr(0, colon);
  }
  return address;
}

bool MatchesClient(const Json& e, const std::string& c) {
  if (c.empty()) return true;
  if (e.value("client", "") == c) return true;
  // `clients` rows carry the client's address (with a port for SMB).
  const auto addr = e.find("address");
  if (addr != e.end() && addr->is_string() &&
      !addr->get<std::string>().empty() &&
      (*addr == c || HostPart(addr->get<std::string>()) == c)) {
    return true;
  }
  const uint64_t id = e.value("client_id", uint64_t{0});
  uint64_t n = 0;
  if (ParseId(c, &n) && n == id) return true;
  return e.value("protocol", "") == "nfs" && NlmClientId(c) == id;
}

}  // namespace

std::string ProtocolLabel(Protocol p) {
  return p == Protocol::kNlm ? "nfs" : locking::ProtocolName(p);
}

bool ParseProtocolLabel(std::string_view s, Protocol* out) {
  if (s == "local") {
    *out = Protocol::kLocal;
  } else if (s == "nfs" || s == "nlm") {
    *out = Protocol::kNlm;
  } else if (s == "smb") {
    *out = Protocol::kSmb;
  } else if (s == "admin") {
    *out = Protocol::kAdmin;
  } else {
    return false;
  }
  return true;
}

std::string ClientLabel(Protocol p, uint64_t client,
                        const std::map<uint64_t, std::string>& nfs_hosts) {
  switch (p) {
    case Protocol::kLocal:
      return "local";
    case Protocol::kNlm: {
      auto it = nfs_hosts.find(client);
      return it != nfs_hosts.end() ? it->second : "host:" + Hex(client);
    }
    case Protocol::kSmb:
      return "session:" + Hex(client);
    case Protocol::kAdmin:
      return "admin";
  }
  return "?";
}

Json HeldEntry(const locking::LockInfo& l, NanoTime now,
               const std::string& client, const std::string& path) {
  Json j = CommonEntry("held", l.file, l.lock, now, client, path);
  j["durable"] = l.lock.durable;
  j["restored"] = l.lock.restored;
  return j;
}

Json WaiterEntry(const locking::WaiterInfo& w, NanoTime now,
                 const std::string& client, const std::string& path) {
  Json j = CommonEntry("waiting", w.file, w.wanted, now, client, path);
  j["waiter_id"] = w.id;
  return j;
}

Result<LockFilter> ParseLockFilter(const Json& req) {
  LockFilter f;
  CFS_RETURN_IF_ERROR(admin::GetString(req, "path", &f.path));
  CFS_RETURN_IF_ERROR(admin::GetString(req, "protocol", &f.protocol));
  CFS_RETURN_IF_ERROR(admin::GetString(req, "client", &f.client));
  Protocol p;
  if (!f.protocol.empty() && !ParseProtocolLabel(f.protocol, &p)) {
    return Status::Invalid("unknown protocol '" + f.protocol +
                           "' (expected local, nfs or smb)");
  }
  if (!f.protocol.empty()) f.protocol = ProtocolLabel(p);
  while (f.path.size() > 1 && f.path.back() == '/') f.path.pop_back();
  return f;
}

bool MatchesLockFilter(const Json& e, const LockFilter& f) {
  if (!f.protocol.empty() && e.value("protocol", "") != f.protocol) {
    return false;
  }
  if (!MatchesClient(e, f.client)) return false;
  if (f.path.empty()) return true;
  const auto it = e.find("path");
  if (it == e.end() || !it->is_string()) return false;
  const std::string path = it->get<std::string>();
  if (path == f.path || f.path == "/") return true;
  return path.size() > f.path.size() &&
         path.compare(0, f.path.size(), f.path) == 0 &&
         path[f.path.size()] == '/';
}

// ---- AdminHandler ----

Json AdminHandler::Handle(std::string_view line) {
  Result<Json> req = admin::ParseRequest(line);
  if (!req.ok()) return admin::ErrorResponse(req.status().message());
  return Run(*req);
}

Json AdminHandler::Run(const Json& req) {
  try {
    const std::string cmd = req.value("cmd", "");
    if (cmd == "locks") return Locks(req);
    if (cmd == "clients") return Clients(req);
    if (cmd == "release") return Release(req);
    if (cmd == "grace") return Grace(req);
    if (cmd == "status") return Summary();
    return admin::ErrorResponse(
        "unknown command '" + cmd +
        "' (expected locks, clients, release, grace or status)");
  } catch (const std::exception& e) {
    // nlohmann::json reports misuse by exception; a request must not take
    // the admin thread down.
    return admin::ErrorResponse(std::string("internal error: ") + e.what());
  }
}

std::map<uint64_t, std::string> AdminHandler::NfsHosts() const {
  std::map<uint64_t, std::string> out;
  if (!s_.nfs) return out;
  for (const std::string& h : s_.nfs->LockHosts()) out[NlmClientId(h)] = h;
  return out;
}

std::map<uint64_t, std::string> AdminHandler::PathsOf(
    std::vector<uint64_t> ids) {
  std::map<uint64_t, std::string> out;
  std::set<uint64_t> want(ids.begin(), ids.end());
  if (want.erase(kRootInode)) out[kRootInode] = "/";
  MetadataStore* md = s_.backend->metadata();
  std::deque<std::pair<InodeId, std::string>> dirs{{kRootInode, ""}};
  size_t visited = 0;
  while (!dirs.empty() && !want.empty() && visited < kPathWalkLimit) {
    // (Not a structured binding: lambdas below capture these.)
    InodeId dir = dirs.front().first;
    std::string prefix = std::move(dirs.front().second);
    dirs.pop_front();
    Status st = md->ListEntries(dir, kFirstEntryCookie, [&](const DirEntry& e) {
      std::string path = prefix + "/" + e.name;
      if (want.erase(e.child)) out[e.child] = path;
      if (e.type == FileType::kDirectory) dirs.emplace_back(e.child, path);
      return ++visited < kPathWalkLimit && !want.empty();
    });
    if (!st.ok()) CFS_LOG_DEBUG("admin: listing {}: {}", dir, st.ToString());
  }
  return out;
}

std::vector<Json> AdminHandler::AllEntries() {
  std::vector<locking::LockInfo> locks;
  std::vector<locking::WaiterInfo> waiters;
  s_.backend->locks()->List(&locks, &waiters);
  const NanoTime now = Clock::Default()->Now();
  std::vector<uint64_t> files;
  for (const auto& l : locks) files.push_back(l.file);
  for (const auto& w : waiters) files.push_back(w.file);
  const auto paths = PathsOf(files);
  const auto hosts = NfsHosts();
  auto path_of = [&](uint64_t f) {
    auto it = paths.find(f);
    return it == paths.end() ? std::string() : it->second;
  };
  // Oldest first: the order people read a queue in.
  std::stable_sort(
      locks.begin(), locks.end(),
      [](const auto& a, const auto& b) { return a.lock.since < b.lock.since; });
  std::stable_sort(waiters.begin(), waiters.end(),
                   [](const auto& a, const auto& b) {
                     return a.wanted.since < b.wanted.since;
                   });
  std::vector<Json> out;
  for (const auto& l : locks) {
    out.push_back(HeldEntry(
        l, now, ClientLabel(l.lock.owner.protocol, l.lock.owner.client, hosts),
        path_of(l.file)));
  }
  for (const auto& w : waiters) {
    out.push_back(WaiterEntry(
        w, now,
        ClientLabel(w.wanted.owner.protocol, w.wanted.owner.client, hosts),
        path_of(w.file)));
  }
  return out;
}

Json AdminHandler::Locks(const Json& req) {
  Result<LockFilter> f = ParseLockFilter(req);
  if (!f.ok()) return admin::ErrorResponse(f.status().message());
  Json list = Json::array();
  for (Json& e : AllEntries()) {
    if (MatchesLockFilter(e, *f)) list.push_back(std::move(e));
  }
  Json r = admin::OkResponse();
  r["locks"] = std::move(list);
  return r;
}

Result<LockFilter> ParseClientFilter(const Json& req) {
  if (req.contains("path") && !req["path"].is_null()) {
    return Status::Invalid("clients takes no path (filters: protocol, client)");
  }
  return ParseLockFilter(req);
}

Json AdminHandler::Clients(const Json& req) {
  Result<LockFilter> f = ParseClientFilter(req);
  if (!f.ok()) return admin::ErrorResponse(f.status().message());
  // Snapshots, each under its owner's own mutex (SMB: each connection
  // answers on its own queue).
  std::vector<rpc::NlmHostInfo> hosts;
  if (s_.nfs) hosts = s_.nfs->NlmHosts();
  std::vector<smb::SmbSessionInfo> sessions;
  if (s_.smb && (f->protocol.empty() || f->protocol == "smb")) {
    sessions = s_.smb->Sessions();
  }
  std::vector<locking::LockInfo> locks;
  std::vector<locking::WaiterInfo> waiters;
  s_.backend->locks()->List(&locks, &waiters);
  std::vector<locking::ShareEntry> opens;
  s_.backend->share_modes()->List(&opens);
  Json list = Json::array();
  for (Json& row :
       ClientRows(hosts, sessions, CountByClient(locks, waiters, opens))) {
    if (MatchesLockFilter(row, *f)) list.push_back(std::move(row));
  }
  Json r = admin::OkResponse();
  r["clients"] = std::move(list);
  return r;
}

Json AdminHandler::Release(const Json& req) {
  std::string client, owner, protocol, reason;
  for (auto [key, out] : {std::pair{"client", &client},
                          {"owner", &owner},
                          {"protocol", &protocol},
                          {"reason", &reason}}) {
    Status st = admin::GetString(req, key, out);
    if (!st.ok()) return admin::ErrorResponse(st.message());
  }
  if (client.empty() == owner.empty()) {
    return admin::ErrorResponse("release needs exactly one of client or owner");
  }
  if (reason.empty()) {
    return admin::ErrorResponse("release needs a reason (it goes to the log)");
  }
  LockFilter f;
  f.client = client;
  Json preq = Json{{"protocol", protocol}};
  Result<LockFilter> pf = ParseLockFilter(preq);
  if (!pf.ok()) return admin::ErrorResponse(pf.status().message());
  f.protocol = pf->protocol;
  // The owners (for --owner) or clients (for --client) to release.
  std::set<std::pair<std::string, uint64_t>> clients;  // protocol, id
  std::set<std::string> owners;
  size_t waiters = 0;
  std::vector<Json> matched;
  for (Json& e : AllEntries()) {
    bool hit = owner.empty() ? MatchesLockFilter(e, f)
                             : e.value("owner", "") == owner &&
                                   (f.protocol.empty() ||
                                    e.value("protocol", "") == f.protocol);
    if (!hit) continue;
    clients.insert(
        {e.value("protocol", ""), e.value("client_id", uint64_t{0})});
    owners.insert(e.value("owner", ""));
    if (e.value("state", "") == "waiting") ++waiters;
    matched.push_back(std::move(e));
  }
  const std::string target =
      owner.empty() ? "client " + client : "owner " + owner;
  if (matched.empty()) {
    return admin::ErrorResponse("no locks or waiters of " + target);
  }
  // Owners are found again in the lock manager's own terms: the listing
  // gave their printable form; the filter needs the values.
  std::vector<locking::LockInfo> locks;
  std::vector<locking::WaiterInfo> ws;
  s_.backend->locks()->List(&locks, &ws);
  std::vector<locking::Owner> targets;
  auto add = [&](const locking::Owner& o) {
    if (std::find(targets.begin(), targets.end(), o) == targets.end()) {
      targets.push_back(o);
    }
  };
  for (const auto& l : locks) {
    if (owners.count(l.lock.owner.ToString())) add(l.lock.owner);
  }
  for (const auto& w : ws) {
    if (owners.count(w.wanted.owner.ToString())) add(w.wanted.owner);
  }
  size_t released = 0;
  if (owner.empty()) {
    for (const auto& [proto, id] : clients) {
      locking::ReleaseFilter rf;
      (void)ParseProtocolLabel(proto, &rf.protocol);
      rf.client = id;
      released += s_.backend->locks()->Release(rf);
      // An NFS host's NLM shares go with its locks, as at FREE_ALL.
      if (rf.protocol == Protocol::kNlm) {
        s_.backend->share_modes()->CloseClient(Protocol::kNlm, id);
      }
    }
  } else {
    for (const locking::Owner& o : targets) {
      locking::ReleaseFilter rf;
      rf.protocol = o.protocol;
      rf.client = o.client;
      rf.owner = o.owner;
      rf.open = o.open;
      released += s_.backend->locks()->Release(rf);
    }
  }
  CFS_LOG_WARN("admin: released {} lock(s) and {} waiter(s) of {}: {}",
               released, waiters, target, reason);
  Json r = admin::OkResponse();
  r["released"] = released;
  r["cancelled"] = waiters;
  r["target"] = target;
  r["reason"] = reason;
  return r;
}

Json AdminHandler::Grace(const Json& req) {
  std::string action = "status";
  Status st = admin::GetString(req, "action", &action);
  if (!st.ok()) return admin::ErrorResponse(st.message());
  locking::LockManager* lm = s_.backend->locks();
  Json r = admin::OkResponse();
  if (action == "end") {
    const bool was = lm->InGrace();
    lm->EndGrace();
    if (was) CFS_LOG_WARN("admin: grace period ended early");
    r["ended"] = was;
  } else if (action != "status") {
    return admin::ErrorResponse("unknown grace action '" + action +
                                "' (expected status or end)");
  }
  const bool in = lm->InGrace();
  locking::LockCounters c = lm->Counters();
  const NanoTime now = Clock::Default()->Now();
  r["in_grace"] = in;
  r["unreclaimed"] = in ? c.unreclaimed : 0;
  r["ends_in_ms"] = in ? AgeMs(lm->GraceEnd(), now) : 0;
  // Strict: every new lock is refused until grace ends; the reason says
  // which crash may have lost lock records.
  r["strict"] = in && lm->StrictGrace();
  r["strict_reason"] = in && lm->StrictGrace() ? lm->StrictGraceReason() : "";
  return r;
}

Json AdminHandler::Summary() {
  const Config& c = s_.backend->config();
  const NanoTime now = Clock::Default()->Now();
  Json r = admin::OkResponse();
  r["version"] = "0.1.0";
  r["pid"] = static_cast<uint64_t>(::getpid());
  r["uptime_ms"] = AgeMs(now, s_.started);
  r["admin_socket"] = s_.socket_path;
  r["data_dir"] = c.data_dir;
  Json store;
  store["metadata"] = s_.backend->metadata()->Describe();
  store["content"] = s_.backend->content()->Describe();
  store["sync"] = SyncPolicyName(c.sync);
  // Health: the root inode reads back, and the data directory has room.
  Result<Inode> root = s_.backend->metadata()->GetInode(kRootInode);
  struct statvfs sv {};
  const bool fs_ok = ::statvfs(c.data_dir.c_str(), &sv) == 0;
  store["healthy"] = root.ok() && fs_ok;
  store["error"] = root.ok() ? (fs_ok ? "" : "statvfs of data_dir failed")
                             : root.status().ToString();
  store["free_bytes"] =
      fs_ok ? static_cast<uint64_t>(sv.f_bavail) * sv.f_frsize : 0;
  r["store"] = std::move(store);
  r["mount"] = {{"enabled", !s_.mount_path.empty()}, {"path", s_.mount_path}};
  Json nfs{{"enabled", s_.nfs != nullptr}};
  if (s_.nfs) {
    nfs["address"] = c.nfs_address;
    nfs["port"] = s_.nfs->nfs_port();
    nfs["mount_port"] = s_.nfs->mount_port();
    nfs["portmap_port"] = s_.nfs->portmap_port();
    nfs["portmapper"] = s_.nfs->portmapper_mode();
    Json exports = Json::array();
    // The exports and shares in force (a SIGHUP may have changed them).
    for (const rpc::ExportOptions& x : s_.nfs->Exports()) {
      exports.push_back({{"path", x.path},
                         {"clients", x.clients},
                         {"read_only", x.read_only},
                         {"squash", rpc::SquashName(x.squash)}});
    }
    nfs["exports"] = std::move(exports);
  }
  r["nfs"] = std::move(nfs);
  Json smb{{"enabled", s_.smb != nullptr}};
  if (s_.smb) {
    smb["address"] = c.smb.address;
    smb["port"] = s_.smb->port();
    Json shares = Json::array();
    for (const smb::SmbShare& sh : s_.smb->Shares()) {
      shares.push_back(
          {{"name", sh.name}, {"path", sh.path}, {"read_only", sh.read_only}});
    }
    smb["shares"] = std::move(shares);
  }
  r["smb"] = std::move(smb);
  locking::LockCounters lc = s_.backend->locks()->Counters();
  auto held = [&](Protocol p) {
    uint64_t n = 0;
    for (uint64_t v : lc.held[static_cast<int>(p) - 1]) n += v;
    return n;
  };
  r["locks"] = {{"held", held(Protocol::kLocal) + held(Protocol::kNlm) +
                             held(Protocol::kSmb) + held(Protocol::kAdmin)},
                {"local", held(Protocol::kLocal)},
                {"nfs", held(Protocol::kNlm)},
                {"smb", held(Protocol::kSmb)},
                {"waiting", lc.waiters}};
  r["grace"] = Grace(Json{{"action", "status"}});
  return r;
}

}  // namespace concordfs
