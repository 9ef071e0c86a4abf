// Exports: which directories of the backend NFS clients may mount, from
// which addresses, and as whom.
//
// ExportOptions is the configured form (the daemon fills it from YAML).
// ExportTable resolves each export's path to its directory inode at start,
// gives each a stable 32-bit id (from its path, so file handles survive
// restarts), matches client addresses against the allowed networks, and
// maps RPC credentials through the squash rules. Built once and then
// read-only: thread-safe for concurrent readers.
#pragma once

#include <cstdint>
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

 private:
  std::vector<Export> exports_;
};

// "/a//b/" -> "/a/b"; "" -> "/". Rejects "." and ".." components.
bool NormalizeExportPath(std::string_view in, std::string* out);

}  // namespace concordfs::rpc
