// Malformed requests: truncated headers and bodies, wrong StructureSize,
// offsets and lengths that point outside the message. Each must get an
// error answer (or close the connection when no answer can be addressed),
// never a crash or a read out of bounds (the suite runs under ASan).
#include <gtest/gtest.h>

#include "tests/unit/smb/core/smb_test_util.h"

namespace concordfs::smb::testing {
namespace {

class MalformedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(c_.Setup());
    CreateResult f = c_.Create("file", kDispOpenIf);
    ASSERT_EQ(f.status, kStatusSuccess);
    fid_ = f.fid;
    ASSERT_EQ(c_.Write(fid_, 0, "contents"), kStatusSuccess);
  }
  // A well-formed body for `cmd` that succeeds (or fails cleanly) as is.
  std::string GoodBody(uint16_t cmd) {
    switch (cmd) {
      case kSessionSetup:
        return SessionSetupBody("");
      case kLogoff:
      case kTreeDisconnect:
      case kEcho:
        return SmallBody(4);
      case kTreeConnect:
        return TreeConnectBody("\\\\s\\share");
      case kCreate:
        return CreateBody("file", kDispOpen);
      case kClose:
        return CloseBody(fid_);
      case kFlush:
        return FlushBody(fid_);
      case kRead:
        return ReadBody(fid_, 0, 4);
      case kWrite:
        return WriteBody(fid_, 0, "data");
      case kIoctl:
        return IoctlBody(fid_, 0x0009003C, "");  // GET_COMPRESSION
      case kQueryDirectory:
        return QueryDirectoryBody(fid_, "*");
      case kChangeNotify:
        return ChangeNotifyBody(fid_);
      case kQueryInfo:
        return QueryInfoBody(fid_, 1, 5, 4096);
      case kSetInfo: {
        std::string pos(8, '\0');
        return SetInfoBody(fid_, 1, 14, pos);  // FilePositionInformation
      }
    }
    return {};
  }
  uint32_t Status(uint16_t cmd, std::string body) {
    Response r = c_.Call(cmd, std::move(body));
    EXPECT_FALSE(c_.transport().closed()) << cmd;
    return r.status();
  }

  SmbTestClient c_;
  SmbFileId fid_;
};

TEST_F(MalformedTest, NotSmbCloses) {
  EXPECT_TRUE(c_.SendRaw("GET / HTTP/1.1\r\n\r\n").empty());
  EXPECT_TRUE(c_.transport().closed());
}

TEST_F(MalformedTest, EmptyAndTinyFramesClose) {
  for (std::string_view m : {std::string_view(""), std::string_view("\xfe"),
                             std::string_view("\xfeSM", 3)}) {
    SmbTestClient c;
    EXPECT_TRUE(c.SendRaw(m).empty());
    EXPECT_TRUE(c.transport().closed());
  }
}

TEST_F(MalformedTest, TruncatedHeaderCloses) {
  // No answer can be addressed without a whole header: the connection ends.
  std::string m = c_.Build(Req(kEcho, SmallBody(4)));
  for (size_t len : {4u, 20u, 63u}) {
    SmbTestClient c;
    ASSERT_TRUE(c.Setup());
    EXPECT_TRUE(c.SendRaw(m.substr(0, len)).empty()) << len;
    EXPECT_TRUE(c.transport().closed()) << len;
  }
}

TEST_F(MalformedTest, HeaderStructureSizeCloses) {
  std::string m = c_.Build(Req(kEcho, SmallBody(4)));
  m[4] = 65;
  EXPECT_TRUE(c_.SendRaw(m).empty());
  EXPECT_TRUE(c_.transport().closed());
}

TEST_F(MalformedTest, TransformHeaderWithoutSessionCloses) {
  std::string m(52, '\0');
  m[0] = '\xfd';
  m.replace(1, 3, "SMB");
  EXPECT_TRUE(c_.SendRaw(m).empty());
  EXPECT_TRUE(c_.transport().closed());
}

const uint16_t kCommandsWithBodies[] = {
    kSessionSetup, kTreeConnect, kTreeDisconnect, kCreate, kClose,
    kFlush,        kRead,        kWrite,          kIoctl,  kQueryDirectory,
    kChangeNotify, kQueryInfo,   kSetInfo};

TEST_F(MalformedTest, WrongStructureSize) {
  for (uint16_t cmd : kCommandsWithBodies) {
    std::string body = GoodBody(cmd);
    LeWriter(&body).PatchU16(0, static_cast<uint16_t>(body[0] + 2));
    EXPECT_EQ(Status(cmd, body), kStatusInvalidParameter) << "command " << cmd;
  }
  // NEGOTIATE, on a fresh connection.
  SmbTestClient c;
  std::string body = NegotiateBody({kDialect210});
  body[0] = 35;
  EXPECT_EQ(c.Call(kNegotiate, body).status(), kStatusInvalidParameter);
}

// ECHO, LOGOFF and LOCK validate their StructureSize too (as Samba and
// Windows do).
TEST_F(MalformedTest, WrongStructureSizeOfSmallCommands) {
  EXPECT_EQ(Status(kEcho, SmallBody(5)), kStatusInvalidParameter);
  EXPECT_EQ(Status(kLock, SmallBody(47)), kStatusInvalidParameter);
  EXPECT_EQ(Status(kLogoff, SmallBody(3)), kStatusInvalidParameter);
}

TEST_F(MalformedTest, BodyShorterThanItsFixedPart) {
  // Only the StructureSize of each body: every read past it is refused.
  for (uint16_t cmd : {kSessionSetup, kTreeConnect, kCreate, kRead, kWrite,
                       kIoctl, kQueryDirectory, kQueryInfo, kSetInfo}) {
    std::string body = GoodBody(cmd).substr(0, 2);
    EXPECT_EQ(Status(cmd, body), kStatusInvalidParameter) << "command " << cmd;
  }
  // Half of each fixed part.
  for (uint16_t cmd : {kSessionSetup, kTreeConnect, kCreate, kRead, kWrite,
                       kIoctl, kQueryDirectory, kQueryInfo, kSetInfo}) {
    std::string body = GoodBody(cmd);
    body.resize(static_cast<uint8_t>(body[0]) / 2);
    EXPECT_EQ(Status(cmd, body), kStatusInvalidParameter) << "command " << cmd;
  }
  SmbTestClient c;
  EXPECT_EQ(
      c.Call(kNegotiate, NegotiateBody({kDialect210}).substr(0, 10)).status(),
      kStatusInvalidParameter);
}

// CLOSE, FLUSH and CHANGE_NOTIFY with a body too short for the FileId.
TEST_F(MalformedTest, TruncatedFileIdIsInvalidParameter) {
  for (uint16_t cmd : {kClose, kFlush, kChangeNotify}) {
    std::string body = GoodBody(cmd).substr(0, 8);
    EXPECT_EQ(Status(cmd, body), kStatusInvalidParameter) << "command " << cmd;
  }
}

TEST_F(MalformedTest, NegotiateDialectCountPastTheEnd) {
  SmbTestClient c;
  std::string body = NegotiateBody({kDialect210});
  LeWriter(&body).PatchU16(2, 200);
  EXPECT_EQ(c.Call(kNegotiate, body).status(), kStatusInvalidParameter);
}

TEST_F(MalformedTest, NegotiateContextsOutside) {
  std::vector<std::string> ctx = {PreauthContext(), CipherContext({2})};
  {
    SmbTestClient c;  // context offset past the end
    std::string body = NegotiateBody({kDialect311}, ctx);
    LeWriter(&body).PatchU32(28, 0x10000);
    EXPECT_EQ(c.Call(kNegotiate, body).status(), kStatusInvalidParameter);
  }
  {
    SmbTestClient c;  // more contexts than there are
    std::string body = NegotiateBody({kDialect311}, ctx);
    LeWriter(&body).PatchU16(32, 9);
    EXPECT_EQ(c.Call(kNegotiate, body).status(), kStatusInvalidParameter);
  }
  {
    SmbTestClient c;  // a context's length past the end
    std::string body = NegotiateBody({kDialect311}, {PreauthContext()});
    size_t at = body.size() - PreauthContext().size();
    LeWriter(&body).PatchU16(at + 2, 0x4000);
    EXPECT_EQ(c.Call(kNegotiate, body).status(), kStatusInvalidParameter);
  }
  {
    SmbTestClient c;  // preauth context claiming more algorithms than it has
    std::string pre = PreauthContext();
    LeWriter(&pre).PatchU16(8, 40);
    EXPECT_EQ(c.Call(kNegotiate, NegotiateBody({kDialect311}, {pre})).status(),
              kStatusInvalidParameter);
  }
}

TEST_F(MalformedTest, SessionSetupBlobOutside) {
  std::string body = SessionSetupBody("abcd");
  LeWriter(&body).PatchU16(12, 0x1000);
  EXPECT_EQ(Status(kSessionSetup, body), kStatusInvalidParameter);
  body = SessionSetupBody("abcd");
  LeWriter(&body).PatchU16(14, 5);
  EXPECT_EQ(Status(kSessionSetup, body), kStatusInvalidParameter);
}

TEST_F(MalformedTest, SessionSetupGarbageBlob) {
  SmbTestClient c;
  ASSERT_EQ(c.Negotiate().status(), kStatusSuccess);
  Request q = Req(kSessionSetup, SessionSetupBody("not a security blob"));
  q.session_id = 0;
  EXPECT_EQ(c.Call(q).status(), kStatusInvalidParameter);
}

TEST_F(MalformedTest, TreeConnectPathOutside) {
  std::string body = TreeConnectBody("\\\\s\\share");
  LeWriter(&body).PatchU16(4, 0x2000);
  EXPECT_EQ(Status(kTreeConnect, body), kStatusInvalidParameter);
  body = TreeConnectBody("\\\\s\\share");
  LeWriter(&body).PatchU16(6, 200);
  EXPECT_EQ(Status(kTreeConnect, body), kStatusInvalidParameter);
}

TEST_F(MalformedTest, CreateNameOutside) {
  std::string body = CreateBody("file", kDispOpen);
  LeWriter(&body).PatchU16(44, 0x1000);  // NameOffset
  EXPECT_EQ(Status(kCreate, body), kStatusInvalidParameter);
  body = CreateBody("file", kDispOpen);
  LeWriter(&body).PatchU16(46, 0x400);  // NameLength
  EXPECT_EQ(Status(kCreate, body), kStatusInvalidParameter);
}

TEST_F(MalformedTest, CreateContextsOutside) {
  std::string ctx = CreateContextBlob("MxAc", "");
  // Contexts offset past the end.
  std::string body = CreateBody("file", kDispOpen, 0, kFileAllAccess, 0, ctx);
  LeWriter(&body).PatchU32(48, 0x10000);
  EXPECT_EQ(Status(kCreate, body), kStatusInvalidParameter);
  // Contexts length past the end.
  body = CreateBody("file", kDispOpen, 0, kFileAllAccess, 0, ctx);
  LeWriter(&body).PatchU32(52, 0x1000);
  EXPECT_EQ(Status(kCreate, body), kStatusInvalidParameter);
  // Contexts offset inside the header.
  body = CreateBody("file", kDispOpen, 0, kFileAllAccess, 0, ctx);
  LeWriter(&body).PatchU32(48, 8);
  EXPECT_EQ(Status(kCreate, body), kStatusInvalidParameter);
  // A context whose Next points past the list.
  std::string bad = ctx;
  LeWriter(&bad).PatchU32(0, 0x100);
  EXPECT_EQ(
      Status(kCreate, CreateBody("file", kDispOpen, 0, kFileAllAccess, 0, bad)),
      kStatusInvalidParameter);
  // A context whose name lies outside it.
  bad = ctx;
  LeWriter(&bad).PatchU16(4, 0x100);
  EXPECT_EQ(
      Status(kCreate, CreateBody("file", kDispOpen, 0, kFileAllAccess, 0, bad)),
      kStatusInvalidParameter);
  // A context whose data lies outside it.
  bad = CreateContextBlob("AlSi", std::string(8, '\0'));
  LeWriter(&bad).PatchU32(12, 0x1000);
  EXPECT_EQ(
      Status(kCreate, CreateBody("file", kDispOpen, 0, kFileAllAccess, 0, bad)),
      kStatusInvalidParameter);
  // Well formed: served.
  Response r = c_.Call(
      kCreate, CreateBody("file", kDispOpen, 0, kFileAllAccess, 0, ctx));
  ASSERT_EQ(r.status(), kStatusSuccess);
  EXPECT_NE(r.U32(84), 0u) << "MxAc answered";
}

TEST_F(MalformedTest, WriteDataOutside) {
  std::string body = WriteBody(fid_, 0, "data");
  LeWriter(&body).PatchU32(4, 5000);  // Length
  EXPECT_EQ(Status(kWrite, body), kStatusInvalidParameter);
  body = WriteBody(fid_, 0, "data");
  LeWriter(&body).PatchU16(2, 0xFFF0);  // DataOffset
  EXPECT_EQ(Status(kWrite, body), kStatusInvalidParameter);
  body = WriteBody(fid_, 0, "data");
  LeWriter(&body).PatchU32(4, 0xFFFFFFFF);
  EXPECT_EQ(Status(kWrite, body), kStatusInvalidParameter);
  // The file is unchanged.
  EXPECT_EQ(c_.Read(fid_, 0, 100).second, "contents");
}

TEST_F(MalformedTest, IoctlInputOutside) {
  std::string body = IoctlBody(fid_, 0x0011C017, "abcd");
  LeWriter(&body).PatchU32(28, 0x1000);  // InputCount
  EXPECT_EQ(Status(kIoctl, body), kStatusInvalidParameter);
  body = IoctlBody(fid_, 0x0011C017, "abcd");
  LeWriter(&body).PatchU32(24, 0xFFFFFFF0);  // InputOffset
  EXPECT_EQ(Status(kIoctl, body), kStatusInvalidParameter);
}

TEST_F(MalformedTest, SetInfoBufferOutside) {
  std::string body = SetInfoBody(fid_, 1, 14, std::string(8, '\0'));
  LeWriter(&body).PatchU32(4, 0x1000);
  EXPECT_EQ(Status(kSetInfo, body), kStatusInvalidParameter);
  body = SetInfoBody(fid_, 1, 14, std::string(8, '\0'));
  LeWriter(&body).PatchU16(8, 0xFF00);
  EXPECT_EQ(Status(kSetInfo, body), kStatusInvalidParameter);
}

TEST_F(MalformedTest, QueryDirectoryPatternOutside) {
  CreateResult d = c_.Create("", kDispOpen, kDirectoryFile);
  ASSERT_EQ(d.status, kStatusSuccess);
  std::string body = QueryDirectoryBody(d.fid, "*");
  LeWriter(&body).PatchU16(26, 0x400);
  EXPECT_EQ(Status(kQueryDirectory, body), kStatusInvalidParameter);
  body = QueryDirectoryBody(d.fid, "*");
  LeWriter(&body).PatchU16(24, 0xFFF0);
  EXPECT_EQ(Status(kQueryDirectory, body), kStatusInvalidParameter);
}

// QUERY_INFO's input buffer (EA list, quota SIDs) must lie inside the
// message, as Samba and Windows check.
TEST_F(MalformedTest, QueryInfoInputOutside) {
  EXPECT_EQ(Status(kQueryInfo, QueryInfoBody(fid_, 1, 5, 4096,
                                             kSmb2HeaderSize + 40, 0x1000)),
            kStatusInvalidParameter);
  EXPECT_EQ(Status(kQueryInfo, QueryInfoBody(fid_, 1, 5, 4096, 0xFFF0, 4)),
            kStatusInvalidParameter);
}

TEST_F(MalformedTest, QueryInfoWellFormed) {
  Response r = c_.Call(kQueryInfo, QueryInfoBody(fid_, 1, 5, 4096));
  ASSERT_EQ(r.status(), kStatusSuccess);
  EXPECT_EQ(r.U32(4), 24u) << "FileStandardInformation";
  EXPECT_EQ(Status(kQueryInfo, QueryInfoBody(fid_, 9, 5, 4096)),
            kStatusInvalidParameter);
  EXPECT_EQ(Status(kQueryInfo, QueryInfoBody(fid_, 1, 5, 2)),
            kStatusInfoLengthMismatch);
}

TEST_F(MalformedTest, UnknownCommand) {
  EXPECT_EQ(Status(0x55, SmallBody(4)), kStatusInvalidParameter);
  EXPECT_EQ(Status(kOplockBreak, SmallBody(24)), kStatusInvalidParameter);
}

TEST_F(MalformedTest, UnknownFileIds) {
  SmbFileId bogus{12345, 12345};
  EXPECT_EQ(Status(kRead, ReadBody(bogus, 0, 1)), kStatusFileClosed);
  EXPECT_EQ(Status(kWrite, WriteBody(bogus, 0, "x")), kStatusFileClosed);
  EXPECT_EQ(Status(kClose, CloseBody(bogus)), kStatusFileClosed);
  EXPECT_EQ(Status(kQueryInfo, QueryInfoBody(bogus, 1, 5, 100)),
            kStatusFileClosed);
  // Right volatile id, wrong persistent id.
  EXPECT_EQ(
      Status(kRead,
             ReadBody(SmbFileId{fid_.persistent + 1, fid_.volatile_id}, 0, 1)),
      kStatusFileClosed);
}

TEST_F(MalformedTest, HugeLengths) {
  EXPECT_EQ(Status(kRead, ReadBody(fid_, 0, 0xFFFFFFFF)),
            kStatusInvalidParameter);
  EXPECT_EQ(Status(kRead, ReadBody(fid_, ~0ULL, 4)), kStatusInvalidParameter);
  EXPECT_EQ(Status(kWrite, WriteBody(fid_, ~0ULL - 1, "xy")),
            kStatusInvalidParameter);
}

}  // namespace
}  // namespace concordfs::smb::testing
