// Nfs3Program: NFS version 3 (program 100003, RFC 1813), all 22
// procedures, over the vfs.
//
// Every call resolves its file handle first: a handle that is not one of
// ours is NFS3ERR_BADHANDLE; one for an export that is gone, an inode that
// no longer exists or another generation is NFS3ERR_STALE; a client the
// export does not allow gets NFS3ERR_ACCES. Credentials come from AUTH_SYS
// (or AUTH_NONE) through the export's squash rules; permission checks are
// the vfs's, with the owner override NFS servers apply to READ and WRITE.
// Changes are made with Origin::kNfs, so the FUSE mount invalidates its
// caches; namespace and attribute changes are stable before the reply.
// WRITE honours UNSTABLE / DATA_SYNC / FILE_SYNC; COMMIT syncs; the write
// verifier is random per process start, so clients resend uncommitted data
// after a restart. Exclusive CREATE keeps the client's verifier in the new
// file's atime/mtime until the client's SETATTR. READDIR cookies are the
// vfs's stable per-directory cookies; the cookie verifier is derived from
// the directory's identity (so it survives restarts).
//
// Thread safety: stateless apart from immutable configuration; Call may run
// on many threads at once.
#pragma once

#include <string>

#include "locking/cache_breaks.h"
#include "rpc/exports.h"
#include "rpc/file_handle.h"
#include "rpc/nfs3/nfs3_xdr.h"
#include "rpc/program.h"
#include "vfs/vfs.h"

namespace concordfs::rpc {

struct Nfs3Options {
  // Largest READ/WRITE (rtmax/wtmax) over TCP; UDP gets 32 KiB.
  uint32_t max_io = 1 << 20;
  uint64_t fsid = 0x636f6e636f726466ULL;
  uint64_t max_file_size = (1ULL << 63) - 1;
};

class Nfs3Program : public RpcProgram {
 public:
  Nfs3Program(Vfs* vfs, const ExportRegistry* exports, const HandleCodec* codec,
              Nfs3Options opts = {});
  uint32_t program() const override { return nfs3::kProgram; }
  uint32_t min_version() const override { return 3; }
  uint32_t max_version() const override { return 3; }
  const char* name() const override { return "nfs"; }
  HandlerResult Call(const CallContext& ctx, XdrDecoder& args,
                     std::string* out) override;
  bool NonIdempotent(uint32_t vers, uint32_t proc) const override;
  bool Quick(uint32_t vers, uint32_t proc) const override;

  // SMB oplocks/leases that conflict with an NFS access are broken first;
  // when the client does not acknowledge within a moment the call answers
  // NFS3ERR_JUKEBOX (the client retries), as a server with delegations does.
  void set_cache_breaks(locking::CacheBreaks* b) { breaks_ = b; }

  // The 8-byte WRITE/COMMIT verifier of this process.
  const std::string& write_verifier() const { return verifier_; }

  // A resolved file handle.
  struct Target {
    const Export* exp = nullptr;
    InodeId ino = kInvalidInode;
    Attr attr;
    OpContext op;
    // Attributes before the operation, if the handle resolved.
    std::optional<Attr> Pre() const {
      return exp ? std::optional<Attr>(attr) : std::nullopt;
    }
  };

 private:
  nfs3::Stat Resolve(const CallContext& ctx, std::string_view fh,
                     Target* t) const;
  std::string HandleOf(const Export* exp, const Attr& a) const;
  std::optional<Attr> AttrOf(InodeId ino) const;
  // Attributes now, if the handle resolved.
  std::optional<Attr> PostOf(const Target& t) const {
    return t.exp ? AttrOf(t.ino) : std::nullopt;
  }
  bool UdpLimit(const CallContext& ctx) const;

  using Proc = HandlerResult (Nfs3Program::*)(const CallContext&, XdrDecoder&,
                                              XdrEncoder&);
  HandlerResult Getattr(const CallContext&, XdrDecoder&, XdrEncoder&);
  HandlerResult Setattr(const CallContext&, XdrDecoder&, XdrEncoder&);
  HandlerResult Lookup(const CallContext&, XdrDecoder&, XdrEncoder&);
  HandlerResult Access(const CallContext&, XdrDecoder&, XdrEncoder&);
  HandlerResult Readlink(const CallContext&, XdrDecoder&, XdrEncoder&);
  HandlerResult Read(const CallContext&, XdrDecoder&, XdrEncoder&);
  HandlerResult Write(const CallContext&, XdrDecoder&, XdrEncoder&);
  HandlerResult Create(const CallContext&, XdrDecoder&, XdrEncoder&);
  HandlerResult Mkdir(const CallContext&, XdrDecoder&, XdrEncoder&);
  HandlerResult Symlink(const CallContext&, XdrDecoder&, XdrEncoder&);
  HandlerResult Mknod(const CallContext&, XdrDecoder&, XdrEncoder&);
  HandlerResult Remove(const CallContext&, XdrDecoder&, XdrEncoder&);
  HandlerResult Rmdir(const CallContext&, XdrDecoder&, XdrEncoder&);
  HandlerResult Rename(const CallContext&, XdrDecoder&, XdrEncoder&);
  HandlerResult Link(const CallContext&, XdrDecoder&, XdrEncoder&);
  HandlerResult Readdir(const CallContext&, XdrDecoder&, XdrEncoder&);
  HandlerResult Readdirplus(const CallContext&, XdrDecoder&, XdrEncoder&);
  HandlerResult Fsstat(const CallContext&, XdrDecoder&, XdrEncoder&);
  HandlerResult Fsinfo(const CallContext&, XdrDecoder&, XdrEncoder&);
  HandlerResult Pathconf(const CallContext&, XdrDecoder&, XdrEncoder&);
  HandlerResult Commit(const CallContext&, XdrDecoder&, XdrEncoder&);

  // Shared tail of CREATE/MKDIR/SYMLINK/MKNOD: the new object's handle and
  // attributes (after applying `sattr` leftovers) and the directory's wcc.
  void NewObjectReply(XdrEncoder& e, const Target& dir, Result<Attr> created,
                      const nfs3::Sattr* rest);
  HandlerResult DoReaddir(const CallContext&, XdrDecoder&, XdrEncoder&,
                          bool plus);

  Vfs* vfs_;
  const ExportRegistry* exports_;
  const HandleCodec* codec_;
  Nfs3Options opts_;
  std::string verifier_;
  locking::CacheBreaks* breaks_ = nullptr;
  // False (answer JUKEBOX) if SMB caching of `ino` is still being broken.
  bool CachesBroken(InodeId ino, locking::CacheAccess a) const;
  bool NameCachesBroken(const Target& dir, std::string_view name) const;
};

}  // namespace concordfs::rpc
