// MOUNT (program 100005) versions 1-3: how an NFSv3 client gets the root
// handle of an export.
//
// MNT refuses a path no export covers (MNT3ERR_ACCES, as rpc.mountd does
// for a path that is not exported), checks the client's address against
// the export's allowed clients (MNT3ERR_ACCES), the reserved-port rule of
// `secure` exports (MNT3ERR_ACCES), and resolves subdirectories of an export
// with the client's squashed credential (MNT3ERR_NOENT / MNT3ERR_NOTDIR /
// MNT3ERR_ACCES). DUMP lists the mounts recorded by MNT (in memory: like
// rmtab, advisory only). Versions 1 and 2 answer everything but MNT, which
// needs NFSv2 handles concordfs does not serve (MNT3ERR_NOTSUPP).
//
// Exports come from the ExportRegistry at each call, so a reload applies to
// the next MNT; handles already given out are checked by NFS at each use.
//
// Thread safety: the mount list has its own mutex; the rest is read-only.
#pragma once

#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "rpc/exports.h"
#include "rpc/file_handle.h"
#include "rpc/program.h"
#include "vfs/vfs.h"

namespace concordfs::rpc {

inline constexpr uint32_t kMountProgram = 100005;

enum MountStat3 : uint32_t {
  kMnt3Ok = 0,
  kMnt3ErrPerm = 1,
  kMnt3ErrNoent = 2,
  kMnt3ErrIo = 5,
  kMnt3ErrAcces = 13,
  kMnt3ErrNotdir = 20,
  kMnt3ErrInval = 22,
  kMnt3ErrNametoolong = 63,
  kMnt3ErrNotsupp = 10004,
  kMnt3ErrServerfault = 10006,
};

class MountProgram : public RpcProgram {
 public:
  MountProgram(Vfs* vfs, const ExportRegistry* exports,
               const HandleCodec* codec)
      : vfs_(vfs), exports_(exports), codec_(codec) {}
  uint32_t program() const override { return kMountProgram; }
  uint32_t min_version() const override { return 1; }
  uint32_t max_version() const override { return 3; }
  const char* name() const override { return "mount"; }
  HandlerResult Call(const CallContext& ctx, XdrDecoder& args,
                     std::string* out) override;
  bool Quick(uint32_t, uint32_t) const override { return true; }

  // (client address, directory) pairs from MNT minus UMNT.
  std::vector<std::pair<std::string, std::string>> Mounts() const;

 private:
  HandlerResult Mnt(const CallContext& ctx, XdrDecoder& args, std::string* out);

  Vfs* vfs_;
  const ExportRegistry* exports_;
  const HandleCodec* codec_;
  mutable std::mutex mu_;
  std::vector<std::pair<std::string, std::string>> mounts_;  // GUARDED_BY(mu_)
};

}  // namespace concordfs::rpc
