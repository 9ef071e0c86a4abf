#include "rpc/nfs3/nfs3_xdr.h"

#include <sys/sysmacros.h>

namespace concordfs::rpc::nfs3 {

Stat StatFromErrno(int code) {
  switch (code) {
    case 0:
      return kOk;
    case EPERM:
      return kErrPerm;
    case ENOENT:
      return kErrNoent;
    case ENXIO:
      return kErrNxio;
    case EACCES:
      return kErrAcces;
    case EEXIST:
      return kErrExist;
    case EXDEV:
      return kErrXdev;
    case ENODEV:
      return kErrNodev;
    case ENOTDIR:
      return kErrNotdir;
    case EISDIR:
      return kErrIsdir;
    case EINVAL:
      return kErrInval;
    case EFBIG:
      return kErrFbig;
    case ENOSPC:
      return kErrNospc;
    case EROFS:
      return kErrRofs;
    case EMLINK:
      return kErrMlink;
    case ENAMETOOLONG:
      return kErrNametoolong;
    case ENOTEMPTY:
      return kErrNotempty;
    case EDQUOT:
      return kErrDquot;
    case ESTALE:
      return kErrStale;
    case EOPNOTSUPP:
      return kErrNotsupp;
    case EAGAIN:
      return kErrJukebox;
    default:
      return kErrIo;
  }
}

const char* StatName(Stat s) {
  switch (s) {
    case kOk:
      return "NFS3_OK";
    case kErrPerm:
      return "NFS3ERR_PERM";
    case kErrNoent:
      return "NFS3ERR_NOENT";
    case kErrIo:
      return "NFS3ERR_IO";
    case kErrNxio:
      return "NFS3ERR_NXIO";
    case kErrAcces:
      return "NFS3ERR_ACCES";
    case kErrExist:
      return "NFS3ERR_EXIST";
    case kErrXdev:
      return "NFS3ERR_XDEV";
    case kErrNodev:
      return "NFS3ERR_NODEV";
    case kErrNotdir:
      return "NFS3ERR_NOTDIR";
    case kErrIsdir:
      return "NFS3ERR_ISDIR";
    case kErrInval:
      return "NFS3ERR_INVAL";
    case kErrFbig:
      return "NFS3ERR_FBIG";
    case kErrNospc:
      return "NFS3ERR_NOSPC";
    case kErrRofs:
      return "NFS3ERR_ROFS";
    case kErrMlink:
      return "NFS3ERR_MLINK";
    case kErrNametoolong:
      return "NFS3ERR_NAMETOOLONG";
    case kErrNotempty:
      return "NFS3ERR_NOTEMPTY";
    case kErrDquot:
      return "NFS3ERR_DQUOT";
    case kErrStale:
      return "NFS3ERR_STALE";
    case kErrRemote:
      return "NFS3ERR_REMOTE";
    case kErrBadhandle:
      return "NFS3ERR_BADHANDLE";
    case kErrNotSync:
      return "NFS3ERR_NOT_SYNC";
    case kErrBadCookie:
      return "NFS3ERR_BAD_COOKIE";
    case kErrNotsupp:
      return "NFS3ERR_NOTSUPP";
    case kErrToosmall:
      return "NFS3ERR_TOOSMALL";
    case kErrServerfault:
      return "NFS3ERR_SERVERFAULT";
    case kErrBadtype:
      return "NFS3ERR_BADTYPE";
    case kErrJukebox:
      return "NFS3ERR_JUKEBOX";
  }
  return "NFS3ERR_?";
}

void PutTime(XdrEncoder* e, NanoTime t) {
  // nfstime3 seconds are unsigned 32-bit: times before 1970 clamp to 0.
  if (t < 0) t = 0;
  e->U32(static_cast<uint32_t>(t / kNanosPerSecond));
  e->U32(static_cast<uint32_t>(t % kNanosPerSecond));
}

NanoTime GetTime(XdrDecoder* d) {
  uint32_t s = d->U32();
  uint32_t ns = d->U32();
  if (ns >= kNanosPerSecond) d->Fail();
  return static_cast<NanoTime>(s) * kNanosPerSecond + ns;
}

namespace {

Ftype FtypeOf(FileType t) {
  switch (t) {
    case FileType::kRegular:
      return kReg;
    case FileType::kDirectory:
      return kDir;
    case FileType::kSymlink:
      return kLnk;
    case FileType::kFifo:
      return kFifo;
    case FileType::kSocket:
      return kSock;
    case FileType::kCharDevice:
      return kChr;
    case FileType::kBlockDevice:
      return kBlk;
  }
  return kReg;
}

}  // namespace

void PutFattr(XdrEncoder* e, const Attr& a, uint64_t fsid) {
  const Inode& i = a.inode;
  e->U32(FtypeOf(i.type));
  e->U32(i.mode & 07777);
  e->U32(i.nlink);
  e->U32(i.uid);
  e->U32(i.gid);
  e->U64(i.size);
  e->U64(a.used_bytes);
  e->U32(major(i.rdev));
  e->U32(minor(i.rdev));
  e->U64(fsid);
  e->U64(i.id);
  PutTime(e, i.atime);
  PutTime(e, i.mtime);
  PutTime(e, i.ctime);
}

void PutPostOpAttr(XdrEncoder* e, const std::optional<Attr>& a, uint64_t fsid) {
  e->Bool(a.has_value());
  if (a) PutFattr(e, *a, fsid);
}

void PutWcc(XdrEncoder* e, const std::optional<Attr>& before,
            const std::optional<Attr>& after, uint64_t fsid) {
  e->Bool(before.has_value());
  if (before) {
    e->U64(before->inode.size);
    PutTime(e, before->inode.mtime);
    PutTime(e, before->inode.ctime);
  }
  PutPostOpAttr(e, after, fsid);
}

void PutPostOpFh(XdrEncoder* e, const std::optional<std::string>& fh) {
  e->Bool(fh.has_value());
  if (fh) e->Opaque(*fh);
}

Sattr GetSattr(XdrDecoder* d) {
  Sattr s;
  if (d->Bool()) s.req.mode = d->U32() & 07777;
  if (d->Bool()) s.req.uid = d->U32();
  if (d->Bool()) s.req.gid = d->U32();
  if (d->Bool()) s.req.size = d->U64();
  for (int which = 0; which < 2; ++which) {
    uint32_t how = d->U32();
    if (how == 1) {
      (which == 0 ? s.req.atime_now : s.req.mtime_now) = true;
    } else if (how == 2) {
      (which == 0 ? s.req.atime : s.req.mtime) = GetTime(d);
    } else if (how != 0) {
      d->Fail();
    }
  }
  return s;
}

}  // namespace concordfs::rpc::nfs3
