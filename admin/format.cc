#include "admin/format.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

namespace concordfs::admin {

namespace {

std::string Str(const Json& j, const char* key, const char* dflt = "") {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return dflt;
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}

// Non-negative integers (parsed JSON has them unsigned, built JSON signed).
bool IsUint(const Json& j) {
  return j.is_number_unsigned() ||
         (j.is_number_integer() && j.get<int64_t>() >= 0);
}

uint64_t Uint(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && IsUint(*it) ? it->get<uint64_t>() : 0;
}

bool Bool(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

const Json& Member(const Json& j, const char* key) {
  static const Json kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

std::string Printf(const char* fmt, uint64_t a, uint64_t b) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), fmt, a, b);
  return buf;
}

}  // namespace

std::string FormatTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < width.size() && i < row.size(); ++i) {
      width[i] = std::max(width[i], row[i].size());
    }
  };
  measure(header);
  for (const auto& r : rows) measure(r);
  std::string out;
  auto emit = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t i = 0; i < width.size(); ++i) {
      const std::string cell = i < row.size() ? row[i] : "";
      line += cell;
      if (i + 1 < width.size())
        line += std::string(width[i] - cell.size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  };
  emit(header);
  for (const auto& r : rows) emit(r);
  return out;
}

std::string FormatRange(const Json& lock) {
  const uint64_t first = Uint(lock, "first");
  if (Bool(lock, "zero_length")) {
    return std::to_string(first) + " (zero-length)";
  }
  const Json& last = Member(lock, "last");
  if (!IsUint(last)) return std::to_string(first) + "-EOF";
  return std::to_string(first) + "-" + std::to_string(last.get<uint64_t>());
}

std::string FormatAge(uint64_t ms) {
  if (ms < 1000) return std::to_string(ms) + "ms";
  if (ms < 60'000) {
    return Printf("%" PRIu64 ".%" PRIu64 "s", ms / 1000, ms % 1000 / 100);
  }
  const uint64_t s = ms / 1000;
  if (s < 3600) return Printf("%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
  if (s < 86400) {
    return Printf("%" PRIu64 "h%02" PRIu64 "m", s / 3600, s % 3600 / 60);
  }
  return Printf("%" PRIu64 "d%02" PRIu64 "h", s / 86400, s % 86400 / 3600);
}

std::string FormatLocks(const Json& response) {
  const Json& locks = Member(response, "locks");
  if (!locks.is_array() || locks.empty()) return "no locks\n";
  std::vector<std::vector<std::string>> rows;
  for (const Json& l : locks) {
    std::string file = Str(l, "path");
    if (file.empty()) file = "?";
    rows.push_back(
        {Str(l, "state"), Str(l, "protocol"), Str(l, "client"),
         std::to_string(Uint(l, "pid")), file, std::to_string(Uint(l, "file")),
         FormatRange(l), Str(l, "mode") == "exclusive" ? "write" : "read",
         Str(l, "flavour"), FormatAge(Uint(l, "age_ms")), Str(l, "owner")});
  }
  return FormatTable({"STATE", "PROTOCOL", "CLIENT", "PID/SVID", "PATH",
                      "INODE", "RANGE", "MODE", "FLAVOUR", "AGE", "OWNER"},
                     rows);
}

std::string FormatNsm(const Json& row) {
  if (Str(row, "protocol") != "nfs") return "-";
  std::string s = Str(row, "nsm_state", "?");
  if (Bool(row, "monitored")) s += ", monitored";
  return s;
}

std::string FormatSecurity(const Json& row) {
  if (Str(row, "protocol") != "smb" || !row.contains("dialect")) return "-";
  std::string s;
  if (Bool(row, "signing")) s = "signed";
  if (Bool(row, "encrypted")) s += s.empty() ? "encrypted" : ",encrypted";
  return s.empty() ? "none" : s;
}

std::string FormatUser(const Json& row) {
  if (!row.contains("user")) return "-";
  const std::string user = Str(row, "user");
  if (user.empty()) return Bool(row, "guest") ? "(anonymous)" : "-";
  return Bool(row, "guest") ? user + " (guest)" : user;
}

std::string FormatClients(const Json& response) {
  const Json& clients = Member(response, "clients");
  if (!clients.is_array() || clients.empty()) return "no clients\n";
  std::vector<std::vector<std::string>> rows;
  // A count, or "-" where the protocol has no such thing.
  auto count = [](const Json& r, const char* key) {
    return r.contains(key) ? std::to_string(Uint(r, key)) : std::string("-");
  };
  for (const Json& r : clients) {
    const bool smb = r.contains("dialect");
    std::string address = Str(r, "address");
    if (address.empty()) address = "-";
    if (Bool(r, "disconnected")) address += " (disconnected)";
    std::string opens =
        r.contains("shares") ? count(r, "shares") : count(r, "opens");
    rows.push_back({Str(r, "protocol"), Str(r, "client"), address,
                    FormatUser(r), smb ? Str(r, "dialect") : "-",
                    FormatSecurity(r), FormatNsm(r), count(r, "trees"), opens,
                    count(r, "oplocks"), count(r, "leases"),
                    count(r, "durable"), count(r, "locks"), count(r, "waiting"),
                    smb ? FormatAge(Uint(r, "age_ms")) : "-"});
  }
  return FormatTable({"PROTOCOL", "CLIENT", "ADDRESS", "USER", "DIALECT",
                      "SECURITY", "NSM", "TREES", "OPENS", "OPLOCKS", "LEASES",
                      "DURABLE", "LOCKS", "WAITING", "AGE"},
                     rows);
}

std::string FormatGrace(const Json& response) {
  if (!Bool(response, "in_grace")) {
    std::string s = "not in grace";
    if (Bool(response, "ended")) s = "grace ended";
    return s + "\n";
  }
  std::string s = "in grace: " + std::to_string(Uint(response, "unreclaimed")) +
                  " unreclaimed lock(s), ends in " +
                  FormatAge(Uint(response, "ends_in_ms")) + "\n";
  if (Bool(response, "strict")) {
    s += "strict: every new lock is refused until grace ends (reclaims "
         "only), because " +
         Str(response, "strict_reason") + "\n";
  }
  return s;
}

std::string FormatRelease(const Json& response) {
  return "released " + std::to_string(Uint(response, "released")) +
         " lock(s) and " + std::to_string(Uint(response, "cancelled")) +
         " waiter(s) of " + Str(response, "target") + "\n";
}

std::string FormatStatus(const Json& r) {
  std::string out;
  auto line = [&](const std::string& k, const std::string& v) {
    out += k + ": " + v + "\n";
  };
  line("version", Str(r, "version"));
  line("pid", Str(r, "pid"));
  line("uptime", FormatAge(Uint(r, "uptime_ms")));
  line("admin socket", Str(r, "admin_socket"));
  const Json& store = Member(r, "store");
  line("store", Str(store, "metadata") + ", content " + Str(store, "content"));
  std::string health = Bool(store, "healthy") ? "ok" : "FAILING";
  if (!Str(store, "error").empty()) health += " (" + Str(store, "error") + ")";
  health += ", " + std::to_string(Uint(store, "free_bytes") >> 20) +
            " MiB free in " + Str(r, "data_dir");
  line("store health", health);
  const Json& mount = Member(r, "mount");
  line("mount", Bool(mount, "enabled") ? Str(mount, "path") : "disabled");
  const Json& nfs = Member(r, "nfs");
  if (!Bool(nfs, "enabled")) {
    line("nfs", "disabled");
  } else {
    std::string s = Str(nfs, "address") + " port " + Str(nfs, "port");
    if (Uint(nfs, "mount_port") != Uint(nfs, "port")) {
      s += ", mount port " + Str(nfs, "mount_port");
    }
    if (Uint(nfs, "portmap_port") != 0) {
      s += ", portmapper port " + Str(nfs, "portmap_port");
    }
    line("nfs", s);
    std::vector<std::vector<std::string>> rows;
    for (const Json& e : Member(nfs, "exports")) {
      std::string clients;
      for (const Json& c : Member(e, "clients")) {
        clients += (clients.empty() ? "" : ",") + c.get<std::string>();
      }
      rows.push_back(
          {Str(e, "path"), clients, Bool(e, "read_only") ? "ro" : "rw"});
    }
    if (!rows.empty())
      out += FormatTable({"EXPORT", "CLIENTS", "ACCESS"}, rows);
  }
  const Json& smb = Member(r, "smb");
  if (!Bool(smb, "enabled")) {
    line("smb", "disabled");
  } else {
    line("smb", Str(smb, "address") + " port " + Str(smb, "port"));
    std::vector<std::vector<std::string>> rows;
    for (const Json& s : Member(smb, "shares")) {
      rows.push_back(
          {Str(s, "name"), Str(s, "path"), Bool(s, "read_only") ? "ro" : "rw"});
    }
    if (!rows.empty()) out += FormatTable({"SHARE", "PATH", "ACCESS"}, rows);
  }
  const Json& locks = Member(r, "locks");
  line("locks", std::to_string(Uint(locks, "held")) + " held (" +
                    std::to_string(Uint(locks, "local")) + " local, " +
                    std::to_string(Uint(locks, "nfs")) + " nfs, " +
                    std::to_string(Uint(locks, "smb")) + " smb), " +
                    std::to_string(Uint(locks, "waiting")) + " waiting");
  out += "grace: " + FormatGrace(Member(r, "grace"));
  return out;
}

}  // namespace concordfs::admin
