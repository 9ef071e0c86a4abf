#include "smb/dcerpc/srvsvc.h"

#include <algorithm>

#include "smb/dcerpc/ndr.h"
#include "smb/dcerpc/pdu.h"
#include "smb/wire/unicode.h"

namespace concordfs::smb {

namespace {

using dcerpc::kNcaInvalidTag;
using dcerpc::kNcaOpRangeError;
using dcerpc::kRpcBadStubData;
using dcerpc::NdrReader;
using dcerpc::NdrWriter;

constexpr uint32_t kPlatformIdNt = 500;
constexpr uint32_t kMaxPreferredLength = 0xffffffff;
constexpr uint32_t kUsesUnlimited = 0xffffffff;

// Share info levels this server answers (SHARE_INFO_x).
bool IsShareLevel(uint32_t level) {
  switch (level) {
    case 0:
    case 1:
    case 2:
    case 501:
    case 502:
    case 1004:
    case 1005:
    case 1006:
      return true;
    default:
      return false;
  }
}

// Arms of SHARE_ENUM_UNION (MS-SRVS 2.2.3.2); all are unique pointers.
bool IsEnumUnionArm(uint32_t tag) {
  return tag == 0 || tag == 1 || tag == 2 || tag == 501 || tag == 502 ||
         tag == 503;
}

bool IsEnumLevel(uint32_t level) {
  return level != 503 && IsEnumUnionArm(level);
}

// The fixed part of one SHARE_INFO_<level>; its strings follow later
// (WriteShareDeferred), as NDR defers embedded pointees.
void WriteShareFixed(NdrWriter* w, uint32_t level, const PipeShare& s) {
  switch (level) {
    case 1004:
      w->Pointer(true);  // remark
      return;
    case 1005:
      w->U32(0);  // flags: manual caching, no DFS
      return;
    case 1006:
      w->U32(kUsesUnlimited);
      return;
  }
  w->Pointer(true);  // netname
  if (level == 0) return;
  w->U32(s.type);
  w->Pointer(true);             // remark
  if (level == 501) w->U32(0);  // flags
  if (level == 2 || level == 502) {
    w->U32(0);  // permissions (share-level security is not used)
    w->U32(kUsesUnlimited);
    w->U32(0);          // current uses
    w->Pointer(true);   // path
    w->Pointer(false);  // password
    if (level == 502) {
      w->U32(0);          // security descriptor length
      w->Pointer(false);  // security descriptor
    }
  }
}

void WriteShareDeferred(NdrWriter* w, uint32_t level, const PipeShare& s) {
  if (level == 1005 || level == 1006) return;
  if (level == 1004) {
    w->String(s.comment);
    return;
  }
  w->String(s.name);
  if (level == 0) return;
  w->String(s.comment);
  if (level == 2 || level == 502) w->String(WindowsSharePath(s.path));
}

// Rough marshalled size of one entry, for PreferedMaximumLength.
size_t EntrySize(uint32_t level, const PipeShare& s) {
  auto str = [](const std::string& v) { return 12 + 2 * (v.size() + 1); };
  size_t n = str(s.name);
  switch (level) {
    case 0:
      return 4 + n;
    case 1:
      return 12 + n + str(s.comment);
    case 501:
      return 16 + n + str(s.comment);
    default:
      return 40 + n + str(s.comment) + str(s.path);
  }
}

std::vector<PipeShare> ListShares(const ShareLister& shares) {
  if (!shares) return {};
  return shares();
}

const PipeShare* FindShare(const std::vector<PipeShare>& list,
                           std::string_view name) {
  for (const PipeShare& s : list) {
    if (Utf8EqualsIgnoreCase(s.name, name)) return &s;
  }
  return nullptr;
}

// [in, string, unique] SRVSVC_HANDLE ServerName: decoded and ignored (the
// server answers for itself whatever name the client used).
void SkipServerName(NdrReader* r) {
  if (r->Pointer()) r->String();
}

struct EnumRequest {
  uint32_t level = 0;
  uint32_t pref_max_len = 0;
  bool has_resume = false;
  uint32_t resume = 0;
};

// Returns 0 or a fault status.
uint32_t ParseEnumRequest(std::string_view stub, EnumRequest* req) {
  NdrReader r(stub);
  SkipServerName(&r);
  req->level = r.U32();
  uint32_t tag = r.U32();
  if (!r.ok() || tag != req->level) return kRpcBadStubData;
  if (!IsEnumUnionArm(tag)) return kNcaInvalidTag;
  if (r.Pointer()) {
    r.U32();  // EntriesRead
    // Clients send no entries in; taking an array in is not worth parsing.
    if (r.Pointer()) return kRpcBadStubData;
  }
  req->pref_max_len = r.U32();
  req->has_resume = r.Pointer();
  if (req->has_resume) req->resume = r.U32();
  return r.ok() ? 0 : kRpcBadStubData;
}

SrvsvcResult ShareEnum(std::string_view stub, const ShareLister& shares) {
  EnumRequest req;
  SrvsvcResult res;
  res.fault = ParseEnumRequest(stub, &req);
  if (res.fault) return res;
  std::vector<PipeShare> list =
      IsEnumLevel(req.level) ? ListShares(shares) : std::vector<PipeShare>{};
  size_t total = list.size();
  size_t first = req.has_resume ? std::min<size_t>(req.resume, total) : 0;
  size_t end = first;
  size_t bytes = 0;
  // At least one entry per call so that a paging client always progresses.
  while (end < total) {
    bytes += EntrySize(req.level, list[end]);
    if (end > first && req.pref_max_len != kMaxPreferredLength &&
        bytes > req.pref_max_len) {
      break;
    }
    ++end;
  }
  uint32_t status = end < total ? kWerrMoreData : kWerrOk;
  NdrWriter w(&res.stub);
  w.U32(req.level);  // SHARE_ENUM_STRUCT.Level
  w.U32(req.level);  // union discriminant
  if (!IsEnumLevel(req.level)) {
    w.Pointer(false);
    status = kWerrInvalidLevel;
  } else {
    uint32_t n = static_cast<uint32_t>(end - first);
    w.Pointer(true);  // SHARE_INFO_x_CONTAINER
    w.U32(n);
    w.Pointer(n > 0);
    if (n > 0) {
      w.U32(n);  // conformant array max count
      for (size_t i = first; i < end; ++i)
        WriteShareFixed(&w, req.level, list[i]);
      for (size_t i = first; i < end; ++i)
        WriteShareDeferred(&w, req.level, list[i]);
    }
  }
  w.U32(static_cast<uint32_t>(total));  // TotalEntries
  w.Pointer(req.has_resume);
  if (req.has_resume) {
    w.U32(status == kWerrMoreData ? static_cast<uint32_t>(end) : 0);
  }
  w.U32(status);
  return res;
}

SrvsvcResult ShareGetInfo(std::string_view stub, const ShareLister& shares) {
  NdrReader r(stub);
  SkipServerName(&r);
  std::string name = r.String();  // [in, string] WCHAR* NetName (ref)
  uint32_t level = r.U32();
  SrvsvcResult res;
  if (!r.ok()) {
    res.fault = kRpcBadStubData;
    return res;
  }
  NdrWriter w(&res.stub);
  w.U32(level);  // SHARE_INFO union discriminant
  if (!IsShareLevel(level)) {
    w.Pointer(false);
    w.U32(kWerrInvalidLevel);
    return res;
  }
  std::vector<PipeShare> list = ListShares(shares);
  const PipeShare* share = FindShare(list, name);
  if (share == nullptr) {
    w.Pointer(false);
    w.U32(kWerrNetNameNotFound);
    return res;
  }
  w.Pointer(true);
  WriteShareFixed(&w, level, *share);
  WriteShareDeferred(&w, level, *share);
  w.U32(kWerrOk);
  return res;
}

SrvsvcResult ServerGetInfo(std::string_view stub, const PipeServerInfo& info) {
  NdrReader r(stub);
  SkipServerName(&r);
  uint32_t level = r.U32();
  SrvsvcResult res;
  if (!r.ok()) {
    res.fault = kRpcBadStubData;
    return res;
  }
  NdrWriter w(&res.stub);
  w.U32(level);  // SERVER_INFO union discriminant
  if (level != 100 && level != 101 && level != 102) {
    w.Pointer(false);
    w.U32(kWerrInvalidLevel);
    return res;
  }
  w.Pointer(true);
  w.U32(kPlatformIdNt);
  w.Pointer(true);  // name
  if (level != 100) {
    w.U32(info.version_major);
    w.U32(info.version_minor);
    w.U32(info.server_type);
    w.Pointer(true);  // comment
  }
  if (level == 102) {
    w.U32(0xffffffff);  // users: no limit
    w.U32(15);          // auto-disconnect minutes
    w.U32(0);           // not hidden
    w.U32(240);         // announce interval (s)
    w.U32(3000);        // announce delta (ms)
    w.U32(0);           // licenses
    w.Pointer(true);    // user path
  }
  w.String(info.server_name);
  if (level != 100) w.String(info.comment);
  if (level == 102) w.String("C:\\");
  w.U32(kWerrOk);
  return res;
}

}  // namespace

std::string WindowsSharePath(std::string_view path) {
  if (path.empty() || path.front() != '/') return std::string(path);
  std::string out = "C:";
  for (char c : path) out.push_back(c == '/' ? '\\' : c);
  return out;
}

SrvsvcResult SrvsvcCall(uint16_t opnum, std::string_view stub,
                        const ShareLister& shares, const PipeServerInfo& info) {
  switch (opnum) {
    case kOpNetrShareEnum:
      return ShareEnum(stub, shares);
    case kOpNetrShareGetInfo:
      return ShareGetInfo(stub, shares);
    case kOpNetrServerGetInfo:
      return ServerGetInfo(stub, info);
    default:
      return SrvsvcResult{kNcaOpRangeError, {}};
  }
}

}  // namespace concordfs::smb
