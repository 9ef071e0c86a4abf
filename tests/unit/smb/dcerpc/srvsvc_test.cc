// srvsvc calls through a bound pipe, responses decoded with the tests' own
// NDR reader.
#include "smb/dcerpc/srvsvc.h"

#include <gtest/gtest.h>

#include "smb/dcerpc/pipe.h"
#include "tests/unit/smb/dcerpc/dcerpc_test_util.h"

namespace concordfs::smb::dcerpc {
namespace {

using testing::BoundPipe;
using testing::Call;
using testing::FaultStatus;
using testing::ResponseStub;
using testing::ServerGetInfoStub;
using testing::ShareEnumStub;
using testing::ShareGetInfoStub;
using testing::StubReader;

struct EnumEntry {
  std::string name;
  uint32_t type = 0;
  std::string comment;
  std::string path;
  uint32_t permissions = 0, max_uses = 0, current_uses = 0, flags = 0;
};

struct EnumReply {
  uint32_t level = 0;
  std::vector<EnumEntry> entries;
  uint32_t total = 0;
  bool has_resume = false;
  uint32_t resume = 0;
  uint32_t status = 0;
};

// Reads one SHARE_INFO_<level> fixed part; returns which strings follow.
struct Pointers {
  bool name = false, remark = false, path = false;
};

Pointers ReadFixed(StubReader* r, uint32_t level, EnumEntry* e) {
  Pointers p;
  p.name = r->Ptr();
  if (level == 0) return p;
  e->type = r->U32();
  p.remark = r->Ptr();
  if (level == 501) e->flags = r->U32();
  if (level == 2 || level == 502) {
    e->permissions = r->U32();
    e->max_uses = r->U32();
    e->current_uses = r->U32();
    p.path = r->Ptr();
    EXPECT_FALSE(r->Ptr());  // password
    if (level == 502) {
      EXPECT_EQ(r->U32(), 0u);
      EXPECT_FALSE(r->Ptr());  // security descriptor
    }
  }
  return p;
}

void ReadStrings(StubReader* r, const Pointers& p, EnumEntry* e) {
  if (p.name) e->name = r->Str();
  if (p.remark) e->comment = r->Str();
  if (p.path) e->path = r->Str();
}

EnumReply DecodeEnum(const std::string& stub) {
  StubReader r(stub);
  EnumReply out;
  out.level = r.U32();
  EXPECT_EQ(r.U32(), out.level);  // union discriminant
  if (r.Ptr()) {
    uint32_t n = r.U32();
    bool buffer = r.Ptr();
    EXPECT_EQ(buffer, n > 0);
    if (buffer) {
      EXPECT_EQ(r.U32(), n);  // conformance
      out.entries.resize(n);
      std::vector<Pointers> ptrs;
      for (EnumEntry& e : out.entries)
        ptrs.push_back(ReadFixed(&r, out.level, &e));
      for (uint32_t i = 0; i < n; ++i)
        ReadStrings(&r, ptrs[i], &out.entries[i]);
    }
  }
  out.total = r.U32();
  out.has_resume = r.Ptr();
  if (out.has_resume) out.resume = r.U32();
  out.status = r.U32();
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
  return out;
}

EnumReply Enum(PipeEndpoint* pipe, uint32_t level, uint32_t pref = 0xffffffff,
               uint32_t resume = 0) {
  return DecodeEnum(
      ResponseStub(Call(pipe, 15, ShareEnumStub(level, pref, true, resume))));
}

TEST(Srvsvc, ShareEnumAllLevel1) {
  PipeEndpoint pipe = BoundPipe();
  EnumReply r = Enum(&pipe, 1);
  EXPECT_EQ(r.level, 1u);
  EXPECT_EQ(r.status, kWerrOk);
  EXPECT_EQ(r.total, 3u);
  EXPECT_TRUE(r.has_resume);
  EXPECT_EQ(r.resume, 0u);
  ASSERT_EQ(r.entries.size(), 3u);
  EXPECT_EQ(r.entries[0].name, "IPC$");
  EXPECT_EQ(r.entries[0].type, 0x80000003u);
  EXPECT_EQ(r.entries[0].comment, "IPC Service (concordfs)");
  EXPECT_EQ(r.entries[1].name, "data");
  EXPECT_EQ(r.entries[1].type, 0u);
  EXPECT_EQ(r.entries[1].comment, "Team data");
  EXPECT_EQ(r.entries[2].name, "Ünïcode");
  EXPECT_EQ(r.entries[2].comment, "Grüße ✓");
}

TEST(Srvsvc, ShareEnumLevels0And501) {
  PipeEndpoint pipe = BoundPipe();
  EnumReply r0 = Enum(&pipe, 0);
  ASSERT_EQ(r0.entries.size(), 3u);
  EXPECT_EQ(r0.entries[1].name, "data");
  EXPECT_EQ(r0.entries[1].comment, "");
  EnumReply r501 = Enum(&pipe, 501);
  ASSERT_EQ(r501.entries.size(), 3u);
  EXPECT_EQ(r501.entries[0].type, 0x80000003u);
  EXPECT_EQ(r501.entries[2].comment, "Grüße ✓");
}

TEST(Srvsvc, ShareEnumLevel2And502Paths) {
  PipeEndpoint pipe = BoundPipe();
  for (uint32_t level : {2u, 502u}) {
    EnumReply r = Enum(&pipe, level);
    EXPECT_EQ(r.level, level);
    ASSERT_EQ(r.entries.size(), 3u);
    EXPECT_EQ(r.entries[0].path, "");
    EXPECT_EQ(r.entries[1].path, "C:\\srv\\data");
    EXPECT_EQ(r.entries[2].path, "C:\\srv\\u");
    EXPECT_EQ(r.entries[1].max_uses, 0xffffffffu);
    EXPECT_EQ(r.entries[1].current_uses, 0u);
    EXPECT_EQ(r.entries[1].comment, "Team data");
  }
}

TEST(Srvsvc, ShareEnumEmptyListAndNoResumeHandle) {
  PipeEndpoint pipe = BoundPipe({});
  std::string stub =
      ResponseStub(Call(&pipe, 15, ShareEnumStub(1, ~0u, false)));
  EnumReply r = DecodeEnum(stub);
  EXPECT_EQ(r.entries.size(), 0u);
  EXPECT_EQ(r.total, 0u);
  EXPECT_FALSE(r.has_resume);
  EXPECT_EQ(r.status, kWerrOk);
}

TEST(Srvsvc, ShareEnumUnsupportedLevel) {
  PipeEndpoint pipe = BoundPipe();
  EnumReply r = Enum(&pipe, 503);
  EXPECT_EQ(r.status, kWerrInvalidLevel);
  EXPECT_TRUE(r.entries.empty());
  // A tag that is no arm of SHARE_ENUM_UNION cannot be decoded at all.
  EXPECT_EQ(FaultStatus(Call(&pipe, 15, ShareEnumStub(7)).at(0)),
            kNcaInvalidTag);
}

TEST(Srvsvc, ShareEnumPagesWithPreferredLength) {
  std::vector<PipeShare> shares;
  for (int i = 0; i < 25; ++i) {
    shares.push_back({"share" + std::to_string(i), 0, "c", "/x"});
  }
  PipeEndpoint pipe = BoundPipe(shares);
  std::vector<std::string> names;
  uint32_t resume = 0;
  int calls = 0;
  for (;;) {
    EnumReply r = Enum(&pipe, 1, 200, resume);
    ++calls;
    EXPECT_EQ(r.total, 25u);
    ASSERT_FALSE(r.entries.empty());
    for (const EnumEntry& e : r.entries) names.push_back(e.name);
    if (r.status == kWerrOk) {
      EXPECT_EQ(r.resume, 0u);
      break;
    }
    ASSERT_EQ(r.status, kWerrMoreData);
    EXPECT_EQ(r.resume, names.size());
    resume = r.resume;
    ASSERT_LT(calls, 30);
  }
  EXPECT_GT(calls, 2);
  ASSERT_EQ(names.size(), 25u);
  for (int i = 0; i < 25; ++i) EXPECT_EQ(names[i], "share" + std::to_string(i));
  // A preferred length too small for one entry still makes progress.
  EnumReply tiny = Enum(&pipe, 1, 1);
  EXPECT_EQ(tiny.entries.size(), 1u);
  EXPECT_EQ(tiny.status, kWerrMoreData);
  // A stale resume handle past the end: nothing more.
  EnumReply past = Enum(&pipe, 1, ~0u, 1000);
  EXPECT_TRUE(past.entries.empty());
  EXPECT_EQ(past.status, kWerrOk);
}

TEST(Srvsvc, ListerIsCalledPerRequest) {
  int calls = 0;
  PipeEndpoint pipe(
      "srvsvc",
      [&calls] {
        ++calls;
        return std::vector<PipeShare>(calls, PipeShare{"s", 0, "", ""});
      },
      PipeServerInfo{});
  ASSERT_EQ(pipe.Write(testing::SrvsvcBind()), PipeEndpoint::kStatusSuccess);
  testing::DrainMessages(&pipe);
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(Enum(&pipe, 0).total, 1u);
  EXPECT_EQ(Enum(&pipe, 0).total, 2u);
  PipeEndpoint none("srvsvc", nullptr, PipeServerInfo{});
  ASSERT_EQ(none.Write(testing::SrvsvcBind()), PipeEndpoint::kStatusSuccess);
  testing::DrainMessages(&none);
  EXPECT_EQ(Enum(&none, 1).total, 0u);
}

struct GetInfoReply {
  uint32_t level = 0;
  bool present = false;
  EnumEntry e;
  uint32_t status = 0;
};

GetInfoReply GetInfo(PipeEndpoint* pipe, std::string_view name,
                     uint32_t level) {
  std::string stub =
      ResponseStub(Call(pipe, 16, ShareGetInfoStub(name, level)));
  StubReader r(stub);
  GetInfoReply g;
  g.level = r.U32();
  g.present = r.Ptr();
  if (g.present) {
    if (level == 1005) {
      g.e.flags = r.U32();
    } else if (level == 1004) {
      EXPECT_TRUE(r.Ptr());
      g.e.comment = r.Str();
    } else if (level == 1006) {
      g.e.max_uses = r.U32();
    } else {
      Pointers p = ReadFixed(&r, level, &g.e);
      ReadStrings(&r, p, &g.e);
    }
  }
  g.status = r.U32();
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
  return g;
}

TEST(Srvsvc, ShareGetInfoKnownShare) {
  PipeEndpoint pipe = BoundPipe();
  GetInfoReply g1 = GetInfo(&pipe, "DATA", 1);  // case-insensitive
  EXPECT_EQ(g1.level, 1u);
  ASSERT_TRUE(g1.present);
  EXPECT_EQ(g1.status, kWerrOk);
  EXPECT_EQ(g1.e.name, "data");
  EXPECT_EQ(g1.e.comment, "Team data");
  GetInfoReply g2 = GetInfo(&pipe, "data", 2);
  EXPECT_EQ(g2.e.path, "C:\\srv\\data");
  EXPECT_EQ(g2.e.max_uses, 0xffffffffu);
  GetInfoReply g0 = GetInfo(&pipe, "ipc$", 0);
  EXPECT_EQ(g0.e.name, "IPC$");
  GetInfoReply g501 = GetInfo(&pipe, "ÜNÏCODE", 501);
  EXPECT_EQ(g501.e.name, "Ünïcode");
  EXPECT_EQ(g501.e.flags, 0u);
  GetInfoReply g502 = GetInfo(&pipe, "data", 502);
  EXPECT_EQ(g502.e.path, "C:\\srv\\data");
  GetInfoReply g1005 = GetInfo(&pipe, "data", 1005);
  ASSERT_TRUE(g1005.present);
  EXPECT_EQ(g1005.e.flags, 0u);
  EXPECT_EQ(g1005.status, kWerrOk);
  EXPECT_EQ(GetInfo(&pipe, "data", 1004).e.comment, "Team data");
  EXPECT_EQ(GetInfo(&pipe, "data", 1006).e.max_uses, 0xffffffffu);
}

TEST(Srvsvc, ShareGetInfoErrors) {
  PipeEndpoint pipe = BoundPipe();
  GetInfoReply missing = GetInfo(&pipe, "nosuch", 1);
  EXPECT_EQ(missing.level, 1u);
  EXPECT_FALSE(missing.present);
  EXPECT_EQ(missing.status, kWerrNetNameNotFound);
  GetInfoReply level = GetInfo(&pipe, "data", 42);
  EXPECT_FALSE(level.present);
  EXPECT_EQ(level.status, kWerrInvalidLevel);
}

TEST(Srvsvc, ServerGetInfo) {
  PipeServerInfo info;
  info.server_name = "FILER";
  info.comment = "Filer ✓";
  PipeEndpoint pipe("srvsvc", testing::SampleShares, info);
  ASSERT_EQ(pipe.Write(testing::SrvsvcBind()), PipeEndpoint::kStatusSuccess);
  testing::DrainMessages(&pipe);

  StubReader r(ResponseStub(Call(&pipe, 21, ServerGetInfoStub(101))));
  EXPECT_EQ(r.U32(), 101u);
  EXPECT_TRUE(r.Ptr());
  EXPECT_EQ(r.U32(), 500u);  // PLATFORM_ID_NT
  EXPECT_TRUE(r.Ptr());
  EXPECT_EQ(r.U32(), 6u);
  EXPECT_EQ(r.U32(), 1u);
  uint32_t type = r.U32();
  EXPECT_EQ(type & (kSvTypeWorkstation | kSvTypeServer | kSvTypeNt),
            kSvTypeWorkstation | kSvTypeServer | kSvTypeNt);
  EXPECT_TRUE(r.Ptr());
  EXPECT_EQ(r.Str(), "FILER");
  EXPECT_EQ(r.Str(), "Filer ✓");
  EXPECT_EQ(r.U32(), kWerrOk);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);

  StubReader r100(ResponseStub(Call(&pipe, 21, ServerGetInfoStub(100))));
  EXPECT_EQ(r100.U32(), 100u);
  EXPECT_TRUE(r100.Ptr());
  EXPECT_EQ(r100.U32(), 500u);
  EXPECT_TRUE(r100.Ptr());
  EXPECT_EQ(r100.Str(), "FILER");
  EXPECT_EQ(r100.U32(), kWerrOk);
  EXPECT_EQ(r100.remaining(), 0u);

  StubReader bad(ResponseStub(Call(&pipe, 21, ServerGetInfoStub(1234))));
  EXPECT_EQ(bad.U32(), 1234u);
  EXPECT_FALSE(bad.Ptr());
  EXPECT_EQ(bad.U32(), kWerrInvalidLevel);
}

TEST(Srvsvc, UnknownOpnumFaults) {
  PipeEndpoint pipe = BoundPipe();
  for (uint16_t opnum : {0, 14, 17, 36, 0xffff}) {
    std::vector<std::string> out = Call(&pipe, opnum, ShareEnumStub(1), 77);
    ASSERT_EQ(out.size(), 1u);
    testing::ServerPdu p = testing::ParseServerPdu(out[0]);
    EXPECT_EQ(p.type, 3);
    EXPECT_EQ(p.call_id, 77u);
    EXPECT_TRUE(p.flags & kPfcDidNotExecute);
    EXPECT_EQ(p.frag_length, 32);
    EXPECT_EQ(FaultStatus(out[0]), kNcaOpRangeError) << opnum;
  }
}

TEST(Srvsvc, TruncatedStubsFault) {
  PipeEndpoint pipe = BoundPipe();
  std::string stubs[] = {ShareEnumStub(1), ShareGetInfoStub("data", 1),
                         ServerGetInfoStub(101)};
  uint16_t ops[] = {15, 16, 21};
  for (int k = 0; k < 3; ++k) {
    for (size_t n = 0; n < stubs[k].size(); ++n) {
      std::vector<std::string> out = Call(&pipe, ops[k], stubs[k].substr(0, n));
      ASSERT_EQ(out.size(), 1u);
      EXPECT_EQ(FaultStatus(out[0]), kRpcBadStubData) << ops[k] << " " << n;
    }
  }
}

TEST(Srvsvc, AbsurdCountsFault) {
  PipeEndpoint pipe = BoundPipe();
  testing::StubWriter s;
  s.Ptr(true);
  s.U32(0x7fffffff);  // max count
  s.U32(0);
  s.U32(0x7fffffff);  // actual count, far beyond the stub
  s.U32(1);
  EXPECT_EQ(FaultStatus(Call(&pipe, 21, s.str()).at(0)), kRpcBadStubData);
  testing::StubWriter t;
  t.Ptr(false);
  t.U32(4);
  t.U32(2);  // non-zero offset
  t.U32(2);
  t.U32(0x00610061);
  t.U32(1);
  EXPECT_EQ(FaultStatus(Call(&pipe, 16, t.str()).at(0)), kRpcBadStubData);
}

TEST(Srvsvc, WindowsSharePath) {
  EXPECT_EQ(WindowsSharePath("/srv/data"), "C:\\srv\\data");
  EXPECT_EQ(WindowsSharePath("/"), "C:\\");
  EXPECT_EQ(WindowsSharePath(""), "");
  EXPECT_EQ(WindowsSharePath("D:\\x"), "D:\\x");
}

}  // namespace
}  // namespace concordfs::smb::dcerpc
