#include "rpc/exports.h"

#include <cstring>
#include <map>

namespace concordfs::rpc {
namespace {

// Parses "addr" or "addr/prefix". `prefix` defaults to the full length.
bool ParsePattern(std::string_view pattern, Peer* net, int* prefix) {
  size_t slash = pattern.find('/');
  std::string_view addr = pattern.substr(0, slash);
  if (!Peer::Parse(addr, 0, net)) return false;
  // An IPv4-mapped IPv6 pattern (::ffff:a.b.c.d/N) becomes IPv4 (clients
  // are matched unmapped): its prefix counts the 96 mapped bits too.
  bool mapped =
      net->family == AF_INET && addr.find(':') != std::string_view::npos;
  int full = net->family == AF_INET ? 32 : 128;
  *prefix = full;
  if (slash != std::string_view::npos) {
    std::string_view p = pattern.substr(slash + 1);
    if (p.empty() || p.size() > 3) return false;
    int v = 0;
    for (char c : p) {
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    if (mapped) {
      if (v < 96 || v > 128) return false;
      v -= 96;
    }
    if (v > full) return false;
    *prefix = v;
  }
  return true;
}

bool Matches(const Peer& net, int prefix, const Peer& peer) {
  Peer p = peer.Unmapped();
  if (p.family != net.family) return false;
  int full_bytes = prefix / 8;
  if (std::memcmp(p.addr, net.addr, full_bytes) != 0) return false;
  int bits = prefix % 8;
  if (bits == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - bits));
  return (p.addr[full_bytes] & mask) == (net.addr[full_bytes] & mask);
}

uint32_t PathId(std::string_view path) {
  uint32_t h = 2166136261u;
  for (unsigned char c : path) {
    h ^= c;
    h *= 16777619u;
  }
  return h == 0 ? 1 : h;
}

}  // namespace

bool ParseSquash(std::string_view s, Squash* out) {
  if (s == "none") {
    *out = Squash::kNone;
  } else if (s == "root") {
    *out = Squash::kRoot;
  } else if (s == "all") {
    *out = Squash::kAll;
  } else {
    return false;
  }
  return true;
}

const char* SquashName(Squash s) {
  switch (s) {
    case Squash::kNone:
      return "none";
    case Squash::kRoot:
      return "root";
    case Squash::kAll:
      return "all";
  }
  return "?";
}

bool ValidClientPattern(std::string_view pattern, std::string* why) {
  if (pattern == "*") return true;
  Peer net;
  int prefix;
  if (!ParsePattern(pattern, &net, &prefix)) {
    *why = "'" + std::string(pattern) +
           "' is not \"*\", a numeric address or address/prefix";
    return false;
  }
  return true;
}

bool NormalizeExportPath(std::string_view in, std::string* out) {
  std::string r;
  size_t i = 0;
  while (i < in.size()) {
    while (i < in.size() && in[i] == '/') ++i;
    size_t j = in.find('/', i);
    if (j == std::string_view::npos) j = in.size();
    std::string_view comp = in.substr(i, j - i);
    if (!comp.empty()) {
      if (comp == "." || comp == "..") return false;
      r += '/';
      r += comp;
    }
    i = j;
  }
  *out = r.empty() ? "/" : r;
  return true;
}

bool Export::AllowsClient(const Peer& peer) const {
  for (const std::string& c : opts.clients) {
    if (c == "*") return true;
    Peer net;
    int prefix;
    if (ParsePattern(c, &net, &prefix) && Matches(net, prefix, peer)) {
      return true;
    }
  }
  return false;
}

Credential Export::MapCredential(const CallHeader& h) const {
  Credential c;
  if (!h.sys || opts.squash == Squash::kAll) {
    c.uid = opts.anonuid;
    c.gid = opts.anongid;
    return c;
  }
  c.uid = h.sys->uid;
  c.gid = h.sys->gid;
  c.groups = h.sys->gids;
  if (opts.squash == Squash::kRoot) {
    if (c.uid == 0) c.uid = opts.anonuid;
    if (c.gid == 0) c.gid = opts.anongid;
    std::erase(c.groups, 0u);
  }
  return c;
}

Result<ExportTable> ExportTable::Build(
    Vfs* vfs, const std::vector<ExportOptions>& exports) {
  ExportTable t;
  OpContext root;
  for (const ExportOptions& o : exports) {
    Export e;
    e.opts = o;
    if (!NormalizeExportPath(o.path, &e.path)) {
      return Status::Invalid("export path '" + o.path +
                             "' may not contain . or ..");
    }
    for (const Export& other : t.exports_) {
      if (other.path == e.path) {
        return Status::Invalid("export '" + e.path + "' is listed twice");
      }
    }
    InodeId ino = kRootInode;
    std::string_view rest(e.path);
    while (!rest.empty()) {
      rest.remove_prefix(1);  // '/'
      size_t j = rest.find('/');
      std::string_view comp = rest.substr(0, j);
      rest = j == std::string_view::npos ? std::string_view{} : rest.substr(j);
      if (comp.empty()) break;
      Result<Attr> a = vfs->Lookup(root, ino, comp);
      if (!a.ok()) {
        std::string why = a.code() == ENOENT ? "no such directory in the store"
                                             : a.status().ToString();
        return Status::Error(a.code(), "export '" + e.path + "': " + why);
      }
      ino = a->inode.id;
    }
    Result<Attr> a = vfs->GetAttr(ino);
    if (!a.ok()) return a.status();
    if (!a->inode.is_dir()) {
      return Status::Error(ENOTDIR,
                           "export '" + e.path + "' is not a directory");
    }
    e.root = ino;
    e.id = PathId(e.path);
    t.exports_.push_back(std::move(e));
  }
  return t;
}

const Export* ExportTable::FindById(uint32_t id) const {
  for (const Export& e : exports_) {
    if (e.id == id) return &e;
  }
  return nullptr;
}

const Export* ExportTable::FindForPath(std::string_view path,
                                       std::string* rest) const {
  std::string norm;
  if (!NormalizeExportPath(path, &norm)) return nullptr;
  const Export* best = nullptr;
  for (const Export& e : exports_) {
    bool prefix = e.path == "/" || norm == e.path ||
                  (norm.size() > e.path.size() &&
                   norm.compare(0, e.path.size(), e.path) == 0 &&
                   norm[e.path.size()] == '/');
    if (prefix && (best == nullptr || e.path.size() > best->path.size())) {
      best = &e;
    }
  }
  if (best != nullptr) {
    *rest = best->path == "/"
                ? norm.substr(1)
                : norm.substr(std::min(norm.size(), best->path.size() + 1));
  }
  return best;
}

std::vector<ExportOptions> ExportTable::Options() const {
  std::vector<ExportOptions> out;
  out.reserve(exports_.size());
  for (const Export& x : exports_) out.push_back(x.opts);
  return out;
}

std::string DescribeExport(const Export& x) {
  std::string clients;
  for (const std::string& cl : x.opts.clients) {
    clients += (clients.empty() ? "" : ",") + cl;
  }
  std::string squash = SquashName(x.opts.squash);
  if (x.opts.squash != Squash::kNone) {
    squash += " to " + std::to_string(x.opts.anonuid) + ":" +
              std::to_string(x.opts.anongid);
  }
  return x.path + " to " + (clients.empty() ? "nobody" : clients) + " (" +
         (x.opts.read_only ? "ro" : "rw") + ", squash " + squash +
         (x.opts.secure ? ", secure" : "") + ")";
}

std::vector<std::string> DescribeExportChanges(const ExportTable& before,
                                               const ExportTable& after) {
  std::map<std::string, const Export*> old_by_path, new_by_path;
  for (const Export& x : before.exports()) old_by_path[x.path] = &x;
  for (const Export& x : after.exports()) new_by_path[x.path] = &x;
  std::vector<std::string> out;
  for (const auto& [path, x] : old_by_path) {
    if (!new_by_path.contains(path))
      out.push_back("export " + path +
                    " removed (its file handles are now stale)");
  }
  for (const auto& [path, x] : new_by_path) {
    auto it = old_by_path.find(path);
    if (it == old_by_path.end()) {
      out.push_back("export " + path + " added: " + DescribeExport(*x));
      continue;
    }
    // Options compare after normalization: "/a/" and "/a" are one export.
    ExportOptions a = it->second->opts, b = x->opts;
    a.path = b.path = path;
    if (a != b || it->second->root != x->root) {
      out.push_back("export " + path + " changed: " + DescribeExport(*x) +
                    ", was " + DescribeExport(*it->second));
    }
  }
  return out;
}

ExportRegistry::ExportRegistry(ExportTable initial) {
  tables_.push_back(std::make_unique<const ExportTable>(std::move(initial)));
  current_.store(tables_.back().get(), std::memory_order_release);
}

void ExportRegistry::Replace(ExportTable next) {
  std::lock_guard<std::mutex> g(mu_);
  tables_.push_back(std::make_unique<const ExportTable>(std::move(next)));
  current_.store(tables_.back().get(), std::memory_order_release);
}

}  // namespace concordfs::rpc
