// NFSv3 wire types (RFC 1813): constants, status codes, and the encoders and
// decoders shared by the procedures (fattr3, wcc_data, post_op_attr,
// sattr3, ...). Pure functions; thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "rpc/xdr.h"
#include "util/status.h"
#include "vfs/vfs.h"

namespace concordfs::rpc::nfs3 {

inline constexpr uint32_t kProgram = 100003;
inline constexpr uint32_t kVersion = 3;
inline constexpr uint32_t kFhSizeMax = 64;
inline constexpr uint32_t kNameMaxWire = 1024;  // decoded, then validated
inline constexpr uint32_t kPathMaxWire = 4096;

enum Proc : uint32_t {
  kNull = 0,
  kGetattr = 1,
  kSetattr = 2,
  kLookup = 3,
  kAccess = 4,
  kReadlink = 5,
  kRead = 6,
  kWrite = 7,
  kCreate = 8,
  kMkdir = 9,
  kSymlink = 10,
  kMknod = 11,
  kRemove = 12,
  kRmdir = 13,
  kRename = 14,
  kLink = 15,
  kReaddir = 16,
  kReaddirplus = 17,
  kFsstat = 18,
  kFsinfo = 19,
  kPathconf = 20,
  kCommit = 21,
  kProcCount = 22,
};

enum Stat : uint32_t {
  kOk = 0,
  kErrPerm = 1,
  kErrNoent = 2,
  kErrIo = 5,
  kErrNxio = 6,
  kErrAcces = 13,
  kErrExist = 17,
  kErrXdev = 18,
  kErrNodev = 19,
  kErrNotdir = 20,
  kErrIsdir = 21,
  kErrInval = 22,
  kErrFbig = 27,
  kErrNospc = 28,
  kErrRofs = 30,
  kErrMlink = 31,
  kErrNametoolong = 63,
  kErrNotempty = 66,
  kErrDquot = 69,
  kErrStale = 70,
  kErrRemote = 71,
  kErrBadhandle = 10001,
  kErrNotSync = 10002,
  kErrBadCookie = 10003,
  kErrNotsupp = 10004,
  kErrToosmall = 10005,
  kErrServerfault = 10006,
  kErrBadtype = 10007,
  kErrJukebox = 10008,
};

enum Ftype : uint32_t {
  kReg = 1,
  kDir = 2,
  kBlk = 3,
  kChr = 4,
  kLnk = 5,
  kSock = 6,
  kFifo = 7,
};

enum StableHow : uint32_t { kUnstable = 0, kDataSync = 1, kFileSync = 2 };
enum CreateMode : uint32_t { kUnchecked = 0, kGuarded = 1, kExclusive = 2 };

inline constexpr uint32_t kAccessRead = 0x01;
inline constexpr uint32_t kAccessLookup = 0x02;
inline constexpr uint32_t kAccessModify = 0x04;
inline constexpr uint32_t kAccessExtend = 0x08;
inline constexpr uint32_t kAccessDelete = 0x10;
inline constexpr uint32_t kAccessExecute = 0x20;

// errno -> nfsstat3.
Stat StatFromErrno(int code);
inline Stat StatOf(const Status& st) {
  return st.ok() ? kOk : StatFromErrno(st.code());
}
const char* StatName(Stat s);

// nfstime3 (seconds, nanoseconds).
void PutTime(XdrEncoder* e, NanoTime t);
NanoTime GetTime(XdrDecoder* d);

// fattr3 for `a`; `fsid` is the file system id reported.
void PutFattr(XdrEncoder* e, const Attr& a, uint64_t fsid);
// post_op_attr: attributes follow when `a` is set.
void PutPostOpAttr(XdrEncoder* e, const std::optional<Attr>& a, uint64_t fsid);
// wcc_data: pre-op (size, mtime, ctime) and post-op attributes.
void PutWcc(XdrEncoder* e, const std::optional<Attr>& before,
            const std::optional<Attr>& after, uint64_t fsid);
// post_op_fh3.
void PutPostOpFh(XdrEncoder* e, const std::optional<std::string>& fh);

// sattr3 -> SetAttrRequest (fields left unset when not sent).
struct Sattr {
  SetAttrRequest req;
  bool any() const {
    return req.mode || req.uid || req.gid || req.size || req.atime ||
           req.mtime || req.atime_now || req.mtime_now;
  }
};
Sattr GetSattr(XdrDecoder* d);

}  // namespace concordfs::rpc::nfs3
