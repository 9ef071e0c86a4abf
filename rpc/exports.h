// Exports: which directories of the backend NFS clients may mount, from
// which addresses, and as whom.
//
// ExportOptions is the configured form (the daemon fills it from YAML).
// ExportTable resolves each export's path to its directory inode, gives
// each a stable 32-bit id (from its path, so file handles survive restarts
// and reloads), matches client addresses against the allowed networks, and
// maps RPC credentials through the squash rules. A table is built once and
// then read-only: thread-safe for concurrent readers.
//
// ExportRegistry holds the table in force and swaps in a new one when the
// daemon reloads its configuration (SIGHUP). A request reads the current
// table once and keeps using it: it sees the old table or the new one,
// never a mix. Superseded tables are kept until the registry is destroyed,
// so an Export* a request holds never dangles. Readers take no lock (one
// acquire load); Replace is serialized by its own mutex.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rpc/program.h"
#include "util/status.h"
#include "vfs/credential.h"
#include "vfs/vfs.h"

namespace concordfs::rpc {

enum class Squash { kNone, kRoot, kAll };
bool ParseSquash(std::string_view s, Squash* out);
const char* SquashName(Squash s);

struct ExportOptions {
  std::string path = "/";  // inside the backend
  // Allowed clients: "*", a numeric address, or address/prefix (CIDR), IPv4
  // or IPv6. An empty list allows nobody.
  std::vector<std::string> clients = {"127.0.0.0/8", "::1"};
  bool read_only = false;
  Squash squash = Squash::kRoot;
  uint32_t anonuid = 65534;
  uint32_t anongid = 65534;
  // Require requests from a reserved source port (< 1024).
  bool secure = false;
  bool operator==(const ExportOptions&) const = default;
};

// Validates one client pattern; false with a reason in `why`.
bool ValidClientPattern(std::string_view pattern, std::string* why);

struct Export {
  ExportOptions opts;
  std::string path;  // normalized: "/" or "/a/b" (no trailing slash)
  uint32_t id = 0;
  InodeId root = kInvalidInode;

  bool AllowsClient(const Peer& peer) const;
  // AUTH_SYS / AUTH_NONE credentials after squashing.
  Credential MapCredential(const CallHeader& h) const;
};

class ExportTable {
 public:
  // Resolves every export path (as root) in `vfs`. Errors: an export path
  // that is missing or not a directory, or two exports with the same path.
  static Result<ExportTable> Build(Vfs* vfs,
                                   const std::vector<ExportOptions>& exports);
  const Export* FindById(uint32_t id) const;
  // The export whose path is `path` or the closest ancestor of it; sets
  // `rest` to the components below the export ("" if none).
  const Export* FindForPath(std::string_view path, std::string* rest) const;
  const std::vector<Export>& exports() const { return exports_; }
  // The configured options, in order (what the table was built from).
  std::vector<ExportOptions> Options() const;

 private:
  std::vector<Export> exports_;
};

// "/data to 10.0.0.0/8,::1 (rw, squash root, secure)": for logs.
std::string DescribeExport(const Export& x);

// What differs between two tables, one line each, by export path:
// "export /c added: ...", "export /b removed", "export /a changed: ...".
// Empty when they serve the same exports with the same options.
std::vector<std::string> DescribeExportChanges(const ExportTable& before,
                                               const ExportTable& after);

class ExportRegistry {
 public:
  explicit ExportRegistry(ExportTable initial);
  ExportRegistry(const ExportRegistry&) = delete;
  ExportRegistry& operator=(const ExportRegistry&) = delete;

  // The table in force. It (and every Export in it) stays valid for the
  // registry's lifetime, also after a Replace.
  const ExportTable& Current() const {
    return *current_.load(std::memory_order_acquire);
  }
  // Makes `next` the table in force for requests that start from now on.
  // Requests already running finish with the table they read.
  void Replace(ExportTable next);

 private:
  std::atomic<const ExportTable*> current_;
  std::mutex mu_;  // serializes Replace
  // Every table ever in force (a reload is an operator's action and a
  // table a few hundred bytes per export, so keeping them is cheaper and
  // simpler than counting readers).
  std::vector<std::unique_ptr<const ExportTable>> tables_;  // GUARDED_BY(mu_)
};

// "/a//b/" -> "/a/b"; "" -> "/". Rejects "." and ".." components.
bool NormalizeExportPath(std::string_view in, std::string* out);

}  // namespace concordfs::rpc
