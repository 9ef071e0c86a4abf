// BIND / ALTER_CONTEXT negotiation on the srvsvc pipe.
#include <gtest/gtest.h>

#include "smb/dcerpc/pipe.h"
#include "tests/unit/smb/dcerpc/dcerpc_test_util.h"

namespace concordfs::smb::dcerpc {
namespace {

using testing::BindPdu;
using testing::DrainMessages;
using testing::FaultStatus;
using testing::ParseServerPdu;
using testing::RequestPdu;
using testing::ServerGetInfoStub;
using testing::ServerPdu;
using testing::SrvsvcBind;

struct Ack {
  uint16_t max_xmit, max_recv;
  uint32_t assoc;
  std::string sec_addr;
  struct Result {
    uint16_t result, reason;
    SyntaxId transfer;
  };
  std::vector<Result> results;
};

Ack ParseAck(const std::string& body) {
  LeReader r(body);
  Ack a;
  a.max_xmit = r.U16();
  a.max_recv = r.U16();
  a.assoc = r.U32();
  uint16_t len = r.U16();
  std::string_view addr = r.Bytes(len);
  if (len > 0) {
    EXPECT_EQ(addr.back(), '\0');
    a.sec_addr = std::string(addr.substr(0, len - 1));
  }
  r.Align(4);  // 16-byte header: body offsets align like PDU offsets
  uint8_t n = r.U8();
  r.Skip(3);
  for (int i = 0; i < n; ++i) {
    Ack::Result res;
    res.result = r.U16();
    res.reason = r.U16();
    res.transfer.uuid.time_low = r.U32();
    res.transfer.uuid.time_mid = r.U16();
    res.transfer.uuid.time_hi = r.U16();
    for (uint8_t& b : res.transfer.uuid.tail) b = r.U8();
    res.transfer.version = r.U32();
    a.results.push_back(res);
  }
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
  return a;
}

PipeEndpoint NewPipe() {
  return PipeEndpoint("srvsvc", testing::SampleShares, PipeServerInfo{});
}

TEST(DcerpcBind, AcceptsSrvsvcWithNdr) {
  PipeEndpoint pipe = NewPipe();
  EXPECT_FALSE(pipe.HasOutput());
  ASSERT_EQ(
      pipe.Write(BindPdu({{0, kSrvsvcSyntax, {kNdrSyntax}}}, 7, 5840, 5840)),
      PipeEndpoint::kStatusSuccess);
  std::vector<std::string> out = DrainMessages(&pipe);
  ASSERT_EQ(out.size(), 1u);
  ServerPdu p = ParseServerPdu(out[0]);
  EXPECT_EQ(p.type, 12);
  EXPECT_EQ(p.flags, kPfcFirstFrag | kPfcLastFrag);
  EXPECT_EQ(p.call_id, 7u);
  Ack a = ParseAck(p.body);
  EXPECT_EQ(a.max_xmit, 4280);  // capped at the server's limit
  EXPECT_EQ(a.max_recv, 4280);
  EXPECT_NE(a.assoc, 0u);
  EXPECT_EQ(a.sec_addr, "\\PIPE\\srvsvc");
  ASSERT_EQ(a.results.size(), 1u);
  EXPECT_EQ(a.results[0].result, kResultAcceptance);
  EXPECT_EQ(a.results[0].reason, 0);
  EXPECT_EQ(a.results[0].transfer, kNdrSyntax);
}

TEST(DcerpcBind, SmallerClientFragmentsWinAndAssocGroupIsKept) {
  PipeEndpoint pipe = NewPipe();
  ASSERT_EQ(pipe.Write(BindPdu({{0, kSrvsvcSyntax, {kNdrSyntax}}}, 1, 2048,
                               1024, 0x1234)),
            PipeEndpoint::kStatusSuccess);
  Ack a = ParseAck(ParseServerPdu(DrainMessages(&pipe).at(0)).body);
  EXPECT_EQ(a.max_xmit, 1024);
  EXPECT_EQ(a.max_recv, 2048);
  EXPECT_EQ(a.assoc, 0x1234u);
}

TEST(DcerpcBind, PerContextResults) {
  SyntaxId features{{0x6cb71c2c, 0x9812, 0x4540, {0x03, 0, 0, 0, 0, 0, 0, 0}},
                    1};
  SyntaxId other{{0x12345778, 0x1234, 0xabcd, {0xef, 0, 1, 2, 3, 4, 5, 6}}, 1};
  SyntaxId srvsvc_v2 = kSrvsvcSyntax;
  srvsvc_v2.version = 2;
  PipeEndpoint pipe = NewPipe();
  ASSERT_EQ(pipe.Write(BindPdu({
                {0, kSrvsvcSyntax, {kNdr64Syntax}},
                {1, kSrvsvcSyntax, {kNdr64Syntax, kNdrSyntax}},
                {2, kSrvsvcSyntax, {features}},
                {3, other, {kNdrSyntax}},
                {4, srvsvc_v2, {kNdrSyntax}},
                {5, kSrvsvcSyntax, {}},
            })),
            PipeEndpoint::kStatusSuccess);
  Ack a = ParseAck(ParseServerPdu(DrainMessages(&pipe).at(0)).body);
  ASSERT_EQ(a.results.size(), 6u);
  EXPECT_EQ(a.results[0].result, kResultProviderRejection);
  EXPECT_EQ(a.results[0].reason, kReasonTransferSyntaxesNotSupported);
  EXPECT_EQ(a.results[0].transfer, SyntaxId{});
  EXPECT_EQ(a.results[1].result, kResultAcceptance);
  EXPECT_EQ(a.results[1].transfer, kNdrSyntax);
  // Bind time feature negotiation: acknowledged with the supported subset
  // of the client's bits in the reason field.
  EXPECT_EQ(a.results[2].result, kResultNegotiateAck);
  EXPECT_EQ(a.results[2].reason, kFeatureKeepConnectionOnOrphan);
  EXPECT_EQ(a.results[2].transfer, SyntaxId{});
  EXPECT_EQ(a.results[3].result, kResultProviderRejection);
  EXPECT_EQ(a.results[3].reason, kReasonAbstractSyntaxNotSupported);
  EXPECT_EQ(a.results[4].reason, kReasonAbstractSyntaxNotSupported);
  EXPECT_EQ(a.results[5].reason, kReasonTransferSyntaxesNotSupported);

  // Only context 1 can carry calls.
  ASSERT_EQ(pipe.Write(RequestPdu(21, ServerGetInfoStub(101), 2, 1)),
            PipeEndpoint::kStatusSuccess);
  EXPECT_EQ(ParseServerPdu(DrainMessages(&pipe).at(0)).type, 2);
  for (uint16_t ctx : {0, 2, 3, 9}) {
    ASSERT_EQ(pipe.Write(RequestPdu(21, ServerGetInfoStub(101), 3, ctx)),
              PipeEndpoint::kStatusSuccess);
    EXPECT_EQ(FaultStatus(DrainMessages(&pipe).at(0)), kNcaUnknownInterface)
        << ctx;
  }
}

TEST(DcerpcBind, UnknownInterfaceStillAcksWithRejection) {
  SyntaxId lsarpc{{0x12345778, 0x1234, 0xabcd, {0xef, 0, 1, 2, 3, 4, 5, 0xab}},
                  0};
  PipeEndpoint pipe = NewPipe();
  ASSERT_EQ(pipe.Write(BindPdu({{0, lsarpc, {kNdrSyntax}}})),
            PipeEndpoint::kStatusSuccess);
  ServerPdu p = ParseServerPdu(DrainMessages(&pipe).at(0));
  EXPECT_EQ(p.type, 12);
  Ack a = ParseAck(p.body);
  EXPECT_EQ(a.results.at(0).result, kResultProviderRejection);
  EXPECT_EQ(a.results.at(0).reason, kReasonAbstractSyntaxNotSupported);
}

TEST(DcerpcBind, PipeOtherThanSrvsvcBindsNothing) {
  PipeEndpoint pipe("lsarpc", testing::SampleShares, PipeServerInfo{});
  ASSERT_EQ(pipe.Write(SrvsvcBind()), PipeEndpoint::kStatusSuccess);
  Ack a = ParseAck(ParseServerPdu(DrainMessages(&pipe).at(0)).body);
  EXPECT_EQ(a.results.at(0).result, kResultProviderRejection);
}

uint16_t NakReason(const std::string& pdu) {
  ServerPdu p = ParseServerPdu(pdu);
  EXPECT_EQ(p.type, 13);
  LeReader r(p.body);
  uint16_t reason = r.U16();
  EXPECT_EQ(r.U8(), 1);  // one version supported: 5.0
  EXPECT_EQ(r.U8(), 5);
  EXPECT_EQ(r.U8(), 0);
  return reason;
}

TEST(DcerpcBind, Naks) {
  {
    PipeEndpoint pipe = NewPipe();
    std::string bind = SrvsvcBind();
    bind[0] = 4;  // rpc_vers
    ASSERT_EQ(pipe.Write(bind), PipeEndpoint::kStatusSuccess);
    EXPECT_EQ(NakReason(DrainMessages(&pipe).at(0)),
              kNakProtocolVersionNotSupported);
  }
  {
    // An auth verifier: RPC-level authentication is not offered.
    PipeEndpoint pipe = NewPipe();
    std::string bind = SrvsvcBind();
    std::string verifier = {10, 2, 0, 0, 0, 0, 0, 0, 'N', 'T', 'L', 'M'};
    bind += verifier;
    LeWriter w(&bind);
    w.PatchU16(8, static_cast<uint16_t>(bind.size()));
    w.PatchU16(10, 4);
    ASSERT_EQ(pipe.Write(bind), PipeEndpoint::kStatusSuccess);
    EXPECT_EQ(NakReason(DrainMessages(&pipe).at(0)),
              kNakAuthenticationTypeNotRecognized);
  }
  {
    PipeEndpoint pipe = NewPipe();
    ASSERT_EQ(pipe.Write(BindPdu({})), PipeEndpoint::kStatusSuccess);
    EXPECT_EQ(NakReason(DrainMessages(&pipe).at(0)), kNakReasonNotSpecified);
  }
  {
    PipeEndpoint pipe = NewPipe();
    ASSERT_EQ(
        pipe.Write(BindPdu({{0, kSrvsvcSyntax, {kNdrSyntax}}}, 1, 4280, 100)),
        PipeEndpoint::kStatusSuccess);
    EXPECT_EQ(NakReason(DrainMessages(&pipe).at(0)), kNakLocalLimitExceeded);
  }
  {
    // One association per pipe.
    PipeEndpoint pipe = NewPipe();
    ASSERT_EQ(pipe.Write(SrvsvcBind()), PipeEndpoint::kStatusSuccess);
    ASSERT_EQ(pipe.Write(SrvsvcBind(2)), PipeEndpoint::kStatusSuccess);
    std::vector<std::string> out = DrainMessages(&pipe);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(NakReason(out[1]), kNakReasonNotSpecified);
  }
}

TEST(DcerpcBind, AlterContextAddsContext) {
  PipeEndpoint pipe = NewPipe();
  ASSERT_EQ(pipe.Write(SrvsvcBind(1, 2000)), PipeEndpoint::kStatusSuccess);
  Ack bound = ParseAck(ParseServerPdu(DrainMessages(&pipe).at(0)).body);
  ASSERT_EQ(pipe.Write(BindPdu({{5, kSrvsvcSyntax, {kNdrSyntax}},
                                {6, kSrvsvcSyntax, {kNdr64Syntax}}},
                               2, 4280, 4280, 0, 14)),
            PipeEndpoint::kStatusSuccess);
  ServerPdu p = ParseServerPdu(DrainMessages(&pipe).at(0));
  EXPECT_EQ(p.type, 15);
  EXPECT_EQ(p.call_id, 2u);
  Ack a = ParseAck(p.body);
  EXPECT_EQ(a.max_xmit, 2000);  // as negotiated by the bind
  EXPECT_EQ(a.assoc, bound.assoc);
  EXPECT_EQ(a.sec_addr, "");
  ASSERT_EQ(a.results.size(), 2u);
  EXPECT_EQ(a.results[0].result, kResultAcceptance);
  EXPECT_EQ(a.results[1].result, kResultProviderRejection);
  ASSERT_EQ(pipe.Write(RequestPdu(21, ServerGetInfoStub(100), 3, 5)),
            PipeEndpoint::kStatusSuccess);
  EXPECT_EQ(ParseServerPdu(DrainMessages(&pipe).at(0)).type, 2);
}

TEST(DcerpcBind, AlterContextBeforeBindFaults) {
  PipeEndpoint pipe = NewPipe();
  ASSERT_EQ(pipe.Write(BindPdu({{0, kSrvsvcSyntax, {kNdrSyntax}}}, 1, 4280,
                               4280, 0, 14)),
            PipeEndpoint::kStatusSuccess);
  EXPECT_EQ(FaultStatus(DrainMessages(&pipe).at(0)), kNcaProtoError);
}

TEST(DcerpcBind, RequestBeforeBindFaults) {
  PipeEndpoint pipe = NewPipe();
  ASSERT_EQ(pipe.Write(RequestPdu(21, ServerGetInfoStub(101), 9)),
            PipeEndpoint::kStatusSuccess);
  std::string fault = DrainMessages(&pipe).at(0);
  EXPECT_EQ(FaultStatus(fault), kNcaProtoError);
  EXPECT_EQ(ParseServerPdu(fault).call_id, 9u);
}

TEST(DcerpcPipeName, Served) {
  EXPECT_TRUE(IsServedPipe("srvsvc"));
  EXPECT_TRUE(IsServedPipe("SRVSVC"));
  EXPECT_TRUE(IsServedPipe("\\srvsvc"));
  EXPECT_TRUE(IsServedPipe("\\PIPE\\SrvSvc"));
  EXPECT_TRUE(IsServedPipe("pipe\\srvsvc"));
  EXPECT_FALSE(IsServedPipe("lsarpc"));
  EXPECT_FALSE(IsServedPipe("samr"));
  EXPECT_FALSE(IsServedPipe(""));
  EXPECT_FALSE(IsServedPipe("\\"));
  EXPECT_FALSE(IsServedPipe("srvsvc2"));
  EXPECT_FALSE(IsServedPipe("\\\\srvsvc"));
}

}  // namespace
}  // namespace concordfs::smb::dcerpc
