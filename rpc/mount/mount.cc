#include "rpc/mount/mount.h"

#include <algorithm>

#include "util/log.h"

namespace concordfs::rpc {
namespace {

enum MountProc : uint32_t {
  kNull = 0,
  kMnt = 1,
  kDump = 2,
  kUmnt = 3,
  kUmntAll = 4,
  kExport = 5,
};

constexpr uint32_t kMntPathLen = 1024;

MountStat3 FromErrno(int code) {
  switch (code) {
    case EPERM:
      return kMnt3ErrPerm;
    case ENOENT:
      return kMnt3ErrNoent;
    case EACCES:
      return kMnt3ErrAcces;
    case ENOTDIR:
      return kMnt3ErrNotdir;
    case EINVAL:
      return kMnt3ErrInval;
    case ENAMETOOLONG:
      return kMnt3ErrNametoolong;
    default:
      return kMnt3ErrIo;
  }
}

}  // namespace

HandlerResult MountProgram::Call(const CallContext& ctx, XdrDecoder& args,
                                 std::string* out) {
  XdrEncoder e(out);
  switch (ctx.header.proc) {
    case kNull:
      return {};
    case kMnt:
      return Mnt(ctx, args, out);
    case kDump: {
      for (const auto& [host, dir] : Mounts()) {
        e.Bool(true);
        e.String(host);
        e.String(dir);
      }
      e.Bool(false);
      return {};
    }
    case kUmnt: {
      std::string_view dir = args.String(kMntPathLen);
      if (!args.ok()) return {AcceptStat::kGarbageArgs};
      std::string host = ctx.peer.AddressString();
      std::lock_guard<std::mutex> lk(mu_);
      std::erase_if(mounts_, [&](const auto& m) {
        return m.first == host && m.second == dir;
      });
      return {};
    }
    case kUmntAll: {
      std::string host = ctx.peer.AddressString();
      std::lock_guard<std::mutex> lk(mu_);
      std::erase_if(mounts_, [&](const auto& m) { return m.first == host; });
      return {};
    }
    case kExport:
      for (const Export& x : exports_->Current().exports()) {
        e.Bool(true);
        e.String(x.path);
        for (const std::string& c : x.opts.clients) {
          e.Bool(true);
          e.String(c);
        }
        e.Bool(false);
      }
      e.Bool(false);
      return {};
  }
  return {AcceptStat::kProcUnavail};
}

HandlerResult MountProgram::Mnt(const CallContext& ctx, XdrDecoder& args,
                                std::string* out) {
  XdrEncoder e(out);
  std::string_view path = args.String(kMntPathLen);
  if (!args.ok()) return {AcceptStat::kGarbageArgs};
  if (ctx.header.vers < 3) {
    e.U32(kMnt3ErrNotsupp);
    return {};
  }
  CFS_LOG_DEBUG("MNT '{}' from {}", path, ctx.peer.ToString());
  std::string rest;
  const Export* x = exports_->Current().FindForPath(path, &rest);
  if (x == nullptr) {
    // A path no export covers (never exported, or removed by a reload) is
    // refused as Linux rpc.mountd refuses it ("not exported"): ACCES.
    e.U32(kMnt3ErrAcces);
    return {};
  }
  if (!x->AllowsClient(ctx.peer) || (x->opts.secure && ctx.peer.port >= 1024)) {
    e.U32(kMnt3ErrAcces);
    return {};
  }
  OpContext op{x->MapCredential(ctx.header), Origin::kNfs};
  InodeId ino = x->root;
  std::string_view r(rest);
  while (!r.empty()) {
    size_t j = r.find('/');
    std::string_view comp = r.substr(0, j);
    r = j == std::string_view::npos ? std::string_view{} : r.substr(j + 1);
    Result<Attr> a = vfs_->Lookup(op, ino, comp);
    if (!a.ok()) {
      e.U32(FromErrno(a.code()));
      return {};
    }
    ino = a->inode.id;
  }
  Result<Attr> a = vfs_->GetAttr(ino);
  if (!a.ok()) {
    e.U32(FromErrno(a.code()));
    return {};
  }
  if (!a->inode.is_dir()) {
    e.U32(kMnt3ErrNotdir);
    return {};
  }
  // The client needs search permission on the directory it mounts.
  if (Status st = vfs_->Access(op, ino, kMayExec); !st.ok()) {
    e.U32(FromErrno(st.code()));
    return {};
  }
  e.U32(kMnt3Ok);
  e.Opaque(codec_->Encode({x->id, ino, a->inode.generation}));
  e.U32(1);  // auth flavors
  e.U32(kAuthSys);
  {
    std::lock_guard<std::mutex> lk(mu_);
    std::pair<std::string, std::string> m(ctx.peer.AddressString(),
                                          std::string(path));
    if (std::find(mounts_.begin(), mounts_.end(), m) == mounts_.end()) {
      mounts_.push_back(std::move(m));
    }
  }
  return {};
}

std::vector<std::pair<std::string, std::string>> MountProgram::Mounts() const {
  std::lock_guard<std::mutex> lk(mu_);
  return mounts_;
}

}  // namespace concordfs::rpc
