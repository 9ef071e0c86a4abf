// Malformed input: truncations, bit flips and garbage never crash the pipe
// (ASan/UBSan catch what a plain run would not), never make it allocate
// without bound, and always leave it answering well-formed PDUs.
#include <gtest/gtest.h>

#include <random>

#include "smb/dcerpc/pipe.h"
#include "tests/unit/smb/dcerpc/dcerpc_test_util.h"

namespace concordfs::smb::dcerpc {
namespace {

using testing::DrainMessages;
using testing::ParseServerPdu;
using testing::RequestPdu;
using testing::ServerGetInfoStub;
using testing::ShareEnumStub;
using testing::ShareGetInfoStub;
using testing::SrvsvcBind;

// A conversation: bind, then one of each call.
std::vector<std::string> Conversation() {
  return {
      SrvsvcBind(),
      RequestPdu(15, ShareEnumStub(1), 2),
      RequestPdu(15, ShareEnumStub(2, 100, true, 1), 3),
      RequestPdu(15, ShareEnumStub(502), 4),
      RequestPdu(16, ShareGetInfoStub("data", 2), 5),
      RequestPdu(16, ShareGetInfoStub("nosuch", 1005), 6),
      RequestPdu(21, ServerGetInfoStub(101), 7),
      testing::BindPdu({{1, kSrvsvcSyntax, {kNdrSyntax}}}, 8, 4280, 4280, 0,
                       14),
  };
}

// Every server PDU is well-formed: right version, length and a known type.
void CheckOutput(PipeEndpoint* pipe) {
  size_t total = 0;
  while (pipe->HasOutput()) {
    bool more = false;
    std::string m = pipe->Read(1 << 20, &more);
    ASSERT_FALSE(more);
    ASSERT_GE(m.size(), 16u);
    ASSERT_LE(m.size(), PipeEndpoint::kMaxFragment);
    testing::ServerPdu p = ParseServerPdu(m);
    EXPECT_TRUE(p.type == 2 || p.type == 3 || p.type == 12 || p.type == 13 ||
                p.type == 15)
        << int{p.type};
    total += m.size();
  }
  EXPECT_LT(total, size_t{1} << 20);
}

// The pipe still serves a fresh, correct call after whatever came before.
void CheckRecovers(PipeEndpoint* pipe) {
  // Whatever state the junk left (up to 64 KiB of a PDU buffered, no
  // association): junk beyond the longest possible PDU makes the pipe drop
  // its input, and from there it serves again. (A real client whose stream
  // is corrupt gets its pipe closed; this only proves no state is wedged.)
  pipe->Write(std::string(65535 + kPduHeaderSize + 1, '\xff'));
  DrainMessages(pipe);
  ASSERT_EQ(pipe->Write(SrvsvcBind(1)), PipeEndpoint::kStatusSuccess);
  ASSERT_EQ(pipe->Write(RequestPdu(21, ServerGetInfoStub(100), 99, 0)),
            PipeEndpoint::kStatusSuccess);
  std::vector<std::string> out = DrainMessages(pipe);
  ASSERT_FALSE(out.empty());
  testing::ServerPdu last = ParseServerPdu(out.back());
  EXPECT_EQ(last.call_id, 99u);
}

TEST(DcerpcRobustness, EveryTruncation) {
  for (const std::string& pdu : Conversation()) {
    for (size_t n = 0; n <= pdu.size(); ++n) {
      PipeEndpoint pipe("srvsvc", testing::SampleShares, PipeServerInfo{});
      if (pdu[2] != 11) pipe.Write(SrvsvcBind());
      // A truncated PDU whose frag_length still claims the full size waits
      // for more; one whose frag_length says n is decoded as it stands.
      std::string cut = pdu.substr(0, n);
      pipe.Write(cut);
      CheckOutput(&pipe);
      if (n >= 10) {
        LeWriter w(&cut);
        w.PatchU16(8, static_cast<uint16_t>(n));
        PipeEndpoint p2("srvsvc", testing::SampleShares, PipeServerInfo{});
        if (pdu[2] != 11) p2.Write(SrvsvcBind());
        p2.Write(cut);
        CheckOutput(&p2);
        CheckRecovers(&p2);
      }
    }
  }
}

TEST(DcerpcRobustness, EveryBitFlip) {
  std::vector<std::string> conv = Conversation();
  for (size_t k = 0; k < conv.size(); ++k) {
    for (size_t i = 0; i < conv[k].size(); ++i) {
      for (int bit = 0; bit < 8; ++bit) {
        PipeEndpoint pipe("srvsvc", testing::SampleShares, PipeServerInfo{});
        for (size_t j = 0; j < conv.size(); ++j) {
          std::string pdu = conv[j];
          if (j == k) pdu[i] = static_cast<char>(pdu[i] ^ (1 << bit));
          pipe.Write(pdu);
          CheckOutput(&pipe);
        }
        CheckRecovers(&pipe);
      }
    }
  }
}

TEST(DcerpcRobustness, RandomGarbage) {
  std::mt19937 rng(12345);
  std::string conv;
  for (const std::string& p : Conversation()) conv += p;
  for (int round = 0; round < 3000; ++round) {
    PipeEndpoint pipe("srvsvc", testing::SampleShares, PipeServerInfo{});
    std::string data = conv;
    int edits = 1 + static_cast<int>(rng() % 8);
    for (int e = 0; e < edits; ++e) {
      size_t at = rng() % data.size();
      switch (rng() % 3) {
        case 0:
          data[at] = static_cast<char>(rng());
          break;
        case 1:
          data.erase(at, rng() % 16);
          break;
        default:
          data.insert(at, std::string(rng() % 16, static_cast<char>(rng())));
      }
      if (data.empty()) data = "x";
    }
    // Feed in random-sized writes.
    for (size_t pos = 0; pos < data.size();) {
      size_t n = 1 + rng() % 200;
      pipe.Write(std::string_view(data).substr(pos, n));
      pos += n;
      CheckOutput(&pipe);
    }
    CheckRecovers(&pipe);
  }
}

TEST(DcerpcRobustness, GarbageHeadersAreRejected) {
  PipeEndpoint pipe("srvsvc", testing::SampleShares, PipeServerInfo{});
  std::string bind = SrvsvcBind();
  std::string bad = bind;
  bad[4] = 0x00;  // big-endian data representation
  EXPECT_EQ(pipe.Write(bad), PipeEndpoint::kStatusInvalidParameter);
  bad = bind;
  bad[8] = 8;  // frag_length below the header size
  bad[9] = 0;
  EXPECT_EQ(pipe.Write(bad), PipeEndpoint::kStatusInvalidParameter);
  bad = bind;
  bad[0] = 4;  // a version this server does not speak, not a BIND
  bad[2] = 0;
  EXPECT_EQ(pipe.Write(bad), PipeEndpoint::kStatusInvalidParameter);
  EXPECT_EQ(pipe.Write("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
            PipeEndpoint::kStatusInvalidParameter);
  EXPECT_FALSE(pipe.HasOutput());
  // The stream recovers at the next write.
  EXPECT_EQ(pipe.Write(bind), PipeEndpoint::kStatusSuccess);
  EXPECT_EQ(ParseServerPdu(DrainMessages(&pipe).at(0)).type, 12);
}

TEST(DcerpcRobustness, HugeCountsInBind) {
  // 255 contexts claiming 255 transfer syntaxes each, in a short PDU.
  std::string pdu = SrvsvcBind();
  pdu[24] = '\xff';  // n_context_elem
  pdu[30] = '\xff';  // n_transfer_syn of the first
  PipeEndpoint pipe("srvsvc", testing::SampleShares, PipeServerInfo{});
  EXPECT_EQ(pipe.Write(pdu), PipeEndpoint::kStatusSuccess);
  std::vector<std::string> out = DrainMessages(&pipe);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(ParseServerPdu(out[0]).type, 13);
}

TEST(DcerpcRobustness, UnexpectedPduTypes) {
  PipeEndpoint pipe = testing::BoundPipe();
  for (uint8_t type : {1, 2, 3, 12, 13, 15, 17, 20, 200}) {
    std::string pdu = RequestPdu(21, ServerGetInfoStub(100), 40 + type);
    pdu[2] = static_cast<char>(type);
    ASSERT_EQ(pipe.Write(pdu), PipeEndpoint::kStatusSuccess);
    std::vector<std::string> out = DrainMessages(&pipe);
    ASSERT_EQ(out.size(), 1u) << int{type};
    EXPECT_EQ(testing::FaultStatus(out[0]), kNcaProtoError);
  }
  // AUTH3, CO_CANCEL and ORPHANED need no answer.
  for (uint8_t type : {16, 18, 19}) {
    std::string pdu = RequestPdu(21, ServerGetInfoStub(100), 60);
    pdu[2] = static_cast<char>(type);
    ASSERT_EQ(pipe.Write(pdu), PipeEndpoint::kStatusSuccess);
    EXPECT_FALSE(pipe.HasOutput());
  }
  // An orphaned call is forgotten.
  std::string stub = ShareEnumStub(1);
  ASSERT_EQ(pipe.Write(RequestPdu(15, stub.substr(0, 8), 61, 0, kPfcFirstFrag)),
            PipeEndpoint::kStatusSuccess);
  std::string orphan = RequestPdu(15, "", 61, 0, kPfcLastFrag);
  orphan[2] = 19;
  ASSERT_EQ(pipe.Write(orphan), PipeEndpoint::kStatusSuccess);
  ASSERT_EQ(pipe.Write(RequestPdu(15, stub.substr(8), 61, 0, kPfcLastFrag)),
            PipeEndpoint::kStatusSuccess);
  EXPECT_EQ(testing::FaultStatus(DrainMessages(&pipe).at(0)), kNcaProtoError);
}

}  // namespace
}  // namespace concordfs::smb::dcerpc
