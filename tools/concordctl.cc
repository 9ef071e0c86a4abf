// concordctl: the operator's tool. Talks to a running concordfs daemon over
// its admin socket (admin/protocol.h) and prints aligned tables, or the
// daemon's JSON with --json.
//
//   concordctl [--socket PATH] locks [--path P] [--protocol nfs|smb|local]
//                                    [--client C] [--json]
//   concordctl [--socket PATH] clients [--protocol nfs|smb|local]
//                                      [--client C] [--json]
//   concordctl [--socket PATH] release (--client C | --owner O)
//                                      [--protocol P] --reason TEXT [--json]
//   concordctl [--socket PATH] grace status|end [--json]
//   concordctl [--socket PATH] status [--json]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "admin/format.h"
#include "admin/protocol.h"

namespace {

using concordfs::admin::Json;

constexpr const char* kUsage = R"(usage:
  concordctl [--socket PATH] COMMAND [options]

commands:
  locks [--path P] [--protocol local|nfs|smb] [--client C]
        every held lock and waiter, across protocols: state, protocol,
        client (local / NFS host name / SMB session), pid or NLM svid,
        path (when found in the namespace) and inode, range, mode,
        flavour, age, owner. --path matches a file or everything below a
        directory; --client matches the CLIENT column, a numeric client id
        or an NFS host name.
  clients [--protocol local|nfs|smb] [--client C]
        one row per client: NFS client hosts (caller name, bound address,
        NSM state number as its LOCK calls give it and whether it is on
        the monitor list, NLM shares under OPENS), SMB sessions (session,
        user, client address, dialect, signing/encryption, trees, opens,
        opens holding an oplock, leases, durable opens, age) and local
        processes (one row while they hold locks or open files); LOCKS and
        WAITING count each client's held locks and blocked requests in the
        lock manager. --client matches the CLIENT column (as in `locks`:
        an NFS host name, session:0x<id>, local), a numeric client or
        session id, or the ADDRESS (with or without its port).
  release (--client C | --owner O) --reason TEXT [--protocol P]
        drop every lock of a client, or of one owner (the OWNER column of
        `locks`), and cancel its waiters; waiters behind them are woken.
        The reason goes to the daemon's log. An NFS client's NLM shares
        go too.
  grace status|end
        the restart grace period: whether it is on, unreclaimed locks,
        time left, whether it is strict (every new lock refused, after a
        crash that may have lost lock records) and why; `end` ends it now
        (unreclaimed locks are dropped).
  status
        what is served where (mount point, NFS/SMB ports, exports,
        shares), uptime, store health, lock counts.

options:
  --socket PATH   the daemon's admin socket (default: $CONCORDFS_ADMIN_SOCKET,
                  else concordfs-data/admin.sock, the shipped configuration's)
  --json          print the daemon's JSON response (one object) instead
  --help          this text

exit status: 0 ok, 1 the daemon refused the request, 2 usage error,
3 cannot reach the daemon.
)";

int Usage(const std::string& msg) {
  std::fprintf(stderr, "concordctl: %s (see --help)\n", msg.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace concordfs::admin;
  std::vector<std::string> args(argv + 1, argv + argc);
  const char* env = std::getenv("CONCORDFS_ADMIN_SOCKET");
  std::string socket = env && *env ? env : "concordfs-data/admin.sock";
  bool json = false;
  std::string command;
  std::vector<std::string> positional;
  Json req = Json::object();
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= args.size()) return false;
      *out = args[++i];
      return true;
    };
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "--json") {
      json = true;
    } else if (a == "--socket") {
      if (!value(&socket)) return Usage("--socket needs a value");
    } else if (a == "--path" || a == "--protocol" || a == "--client" ||
               a == "--owner" || a == "--reason") {
      std::string v;
      if (!value(&v)) return Usage(a + " needs a value");
      req[a.substr(2)] = v;
    } else if (a.rfind("--", 0) == 0) {
      return Usage("unknown option '" + a + "'");
    } else if (command.empty()) {
      command = a;
    } else {
      positional.push_back(a);
    }
  }
  if (command.empty()) return Usage("no command");
  auto allow = [&](std::initializer_list<const char*> keys) {
    for (const auto& [k, v] : req.items()) {
      bool ok = false;
      for (const char* key : keys) ok |= k == key;
      if (!ok) return false;
    }
    return true;
  };
  if (command == "locks") {
    if (!allow({"path", "protocol", "client"}) || !positional.empty()) {
      return Usage("locks takes --path, --protocol and --client");
    }
  } else if (command == "clients") {
    if (!allow({"protocol", "client"}) || !positional.empty()) {
      return Usage("clients takes --protocol and --client");
    }
  } else if (command == "release") {
    if (!allow({"client", "owner", "protocol", "reason"}) ||
        !positional.empty()) {
      return Usage("release takes --client or --owner, --protocol, --reason");
    }
    if (req.contains("client") == req.contains("owner")) {
      return Usage("release needs --client C or --owner O");
    }
    if (!req.contains("reason")) return Usage("release needs --reason TEXT");
  } else if (command == "grace") {
    if (!allow({}) || positional.size() != 1 ||
        (positional[0] != "status" && positional[0] != "end")) {
      return Usage("grace status|end");
    }
    req["action"] = positional[0];
  } else if (command == "status") {
    if (!allow({}) || !positional.empty())
      return Usage("status takes no arguments");
  } else {
    return Usage("unknown command '" + command + "'");
  }
  req["cmd"] = command;
  concordfs::Result<Json> r = AdminCall(socket, req);
  if (!r.ok()) {
    std::fprintf(stderr, "concordctl: %s\n", r.status().message().c_str());
    return 3;
  }
  auto ok_it = r->find("ok");
  const bool ok =
      ok_it != r->end() && ok_it->is_boolean() && ok_it->get<bool>();
  if (json) {
    std::fputs(EncodeLine(*r).c_str(), stdout);
    return ok ? 0 : 1;
  }
  if (!ok) {
    auto err = r->find("error");
    std::fprintf(stderr, "concordctl: %s\n",
                 err != r->end() && err->is_string()
                     ? err->get<std::string>().c_str()
                     : "request refused");
    return 1;
  }
  std::string out;
  if (command == "locks") out = FormatLocks(*r);
  if (command == "clients") out = FormatClients(*r);
  if (command == "release") out = FormatRelease(*r);
  if (command == "grace") out = FormatGrace(*r);
  if (command == "status") out = FormatStatus(*r);
  std::fputs(out.c_str(), stdout);
  return 0;
}
