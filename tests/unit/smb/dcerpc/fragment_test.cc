// Fragmentation: responses split to the client's max_recv_frag, requests
// reassembled from fragments and from PDUs split across writes, message-mode
// reads.
#include <gtest/gtest.h>

#include "smb/dcerpc/pipe.h"
#include "tests/unit/smb/dcerpc/dcerpc_test_util.h"

namespace concordfs::smb::dcerpc {
namespace {

using testing::BoundPipe;
using testing::DrainMessages;
using testing::FaultStatus;
using testing::ManyShares;
using testing::ParseServerPdu;
using testing::RequestPdu;
using testing::ResponseStub;
using testing::ServerGetInfoStub;
using testing::ServerPdu;
using testing::ShareEnumStub;
using testing::StubReader;

TEST(DcerpcFragment, LargeShareListIsFragmented) {
  PipeEndpoint pipe = BoundPipe(ManyShares(300), 1024);
  ASSERT_EQ(pipe.Write(RequestPdu(15, ShareEnumStub(1))),
            PipeEndpoint::kStatusSuccess);
  std::vector<std::string> frags = DrainMessages(&pipe);
  ASSERT_GT(frags.size(), 10u);
  size_t stub_total = 0;
  for (size_t i = 0; i < frags.size(); ++i) {
    EXPECT_LE(frags[i].size(), 1024u);
    stub_total += frags[i].size() - 24;
    if (i + 1 < frags.size()) {
      EXPECT_EQ(frags[i].size(), 1024u);  // 1000 stub bytes, a multiple of 8
      EXPECT_EQ((frags[i].size() - 24) % 8, 0u);
    }
  }
  // alloc_hint counts the stub bytes from this fragment on.
  size_t left = stub_total;
  for (const std::string& f : frags) {
    std::string body = ParseServerPdu(f).body;
    LeReader r(body);
    EXPECT_EQ(r.U32(), left);
    left -= f.size() - 24;
  }

  StubReader r(ResponseStub(frags));
  EXPECT_EQ(r.U32(), 1u);
  EXPECT_EQ(r.U32(), 1u);
  EXPECT_TRUE(r.Ptr());
  ASSERT_EQ(r.U32(), 300u);
  EXPECT_TRUE(r.Ptr());
  ASSERT_EQ(r.U32(), 300u);
  for (int i = 0; i < 300; ++i) {
    EXPECT_TRUE(r.Ptr());
    EXPECT_EQ(r.U32(), kStypeDisktree);
    EXPECT_TRUE(r.Ptr());
  }
  for (int i = 0; i < 300; ++i) {
    EXPECT_EQ(r.Str(), "share_" + std::to_string(i));
    EXPECT_EQ(r.Str(), "comment number " + std::to_string(i));
  }
  EXPECT_EQ(r.U32(), 300u);  // total
  EXPECT_TRUE(r.Ptr());
  EXPECT_EQ(r.U32(), 0u);  // resume handle
  EXPECT_EQ(r.U32(), kWerrOk);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(DcerpcFragment, SmallReadsReturnOneMessageAtATime) {
  PipeEndpoint pipe = BoundPipe(ManyShares(40), 1024);
  ASSERT_EQ(pipe.Write(RequestPdu(15, ShareEnumStub(2))),
            PipeEndpoint::kStatusSuccess);
  // As SMB2 READ / TRANSCEIVE would: small reads, STATUS_BUFFER_OVERFLOW
  // while a message has bytes left.
  std::vector<std::string> frags;
  std::string cur;
  while (pipe.HasOutput()) {
    bool more = false;
    std::string part = pipe.Read(300, &more);
    EXPECT_LE(part.size(), 300u);
    cur += part;
    if (!more) {
      frags.push_back(std::move(cur));
      cur.clear();
    }
  }
  ASSERT_GT(frags.size(), 2u);
  for (const std::string& f : frags) {
    EXPECT_EQ(ParseServerPdu(f).frag_length, f.size());
  }
  EXPECT_FALSE(ResponseStub(frags).empty());
  bool more = true;
  EXPECT_EQ(pipe.Read(100, &more), "");
  EXPECT_FALSE(more);
}

TEST(DcerpcFragment, ReadZeroBytesReportsMore) {
  PipeEndpoint pipe = BoundPipe();
  ASSERT_EQ(pipe.Write(RequestPdu(21, ServerGetInfoStub(100))),
            PipeEndpoint::kStatusSuccess);
  bool more = false;
  EXPECT_EQ(pipe.Read(0, &more), "");
  EXPECT_TRUE(more);
  EXPECT_FALSE(pipe.Read(1000, nullptr).empty());
  EXPECT_FALSE(pipe.HasOutput());
}

TEST(DcerpcFragment, FragmentedRequestIsReassembled) {
  PipeEndpoint pipe = BoundPipe();
  std::string stub = ShareEnumStub(1);
  // Split at an unaligned point: alignment counts from the stub start.
  std::string a = stub.substr(0, 13), b = stub.substr(13, 7),
              c = stub.substr(20);
  ASSERT_EQ(pipe.Write(RequestPdu(15, a, 5, 0, kPfcFirstFrag)),
            PipeEndpoint::kStatusSuccess);
  ASSERT_EQ(pipe.Write(RequestPdu(15, b, 5, 0, 0)),
            PipeEndpoint::kStatusSuccess);
  EXPECT_FALSE(pipe.HasOutput());
  ASSERT_EQ(pipe.Write(RequestPdu(15, c, 5, 0, kPfcLastFrag)),
            PipeEndpoint::kStatusSuccess);
  std::vector<std::string> out = DrainMessages(&pipe);
  StubReader r(ResponseStub(out, 5));
  EXPECT_EQ(r.U32(), 1u);
}

TEST(DcerpcFragment, PduSplitAcrossWritesAndSeveralPdusInOneWrite) {
  PipeEndpoint pipe("srvsvc", testing::SampleShares, PipeServerInfo{});
  std::string all = testing::SrvsvcBind() +
                    RequestPdu(21, ServerGetInfoStub(101), 2) +
                    RequestPdu(15, ShareEnumStub(1), 3);
  for (char ch : all) {
    ASSERT_EQ(pipe.Write(std::string_view(&ch, 1)),
              PipeEndpoint::kStatusSuccess);
  }
  std::vector<std::string> out = DrainMessages(&pipe);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(ParseServerPdu(out[0]).type, 12);
  EXPECT_EQ(ParseServerPdu(out[1]).call_id, 2u);
  EXPECT_EQ(ParseServerPdu(out[2]).call_id, 3u);

  PipeEndpoint whole("srvsvc", testing::SampleShares, PipeServerInfo{});
  ASSERT_EQ(whole.Write(all), PipeEndpoint::kStatusSuccess);
  std::vector<std::string> out2 = DrainMessages(&whole);
  ASSERT_EQ(out2.size(), 3u);
  // Same answers either way (only the association group id may differ).
  EXPECT_EQ(out2[1], out[1]);
  EXPECT_EQ(out2[2], out[2]);
}

TEST(DcerpcFragment, FragmentProtocolErrors) {
  PipeEndpoint pipe = BoundPipe();
  // A middle fragment of no call.
  ASSERT_EQ(pipe.Write(RequestPdu(15, "abcd", 8, 0, 0)),
            PipeEndpoint::kStatusSuccess);
  EXPECT_EQ(FaultStatus(DrainMessages(&pipe).at(0)), kNcaProtoError);
  // Its remaining fragments are dropped silently.
  ASSERT_EQ(pipe.Write(RequestPdu(15, "abcd", 8, 0, kPfcLastFrag)),
            PipeEndpoint::kStatusSuccess);
  EXPECT_FALSE(pipe.HasOutput());

  // A fragment of another call id in the middle of a call.
  std::string stub = ShareEnumStub(1);
  ASSERT_EQ(pipe.Write(RequestPdu(15, stub.substr(0, 8), 9, 0, kPfcFirstFrag)),
            PipeEndpoint::kStatusSuccess);
  ASSERT_EQ(pipe.Write(RequestPdu(15, stub.substr(8), 10, 0, kPfcLastFrag)),
            PipeEndpoint::kStatusSuccess);
  std::vector<std::string> out = DrainMessages(&pipe);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(FaultStatus(out[0]), kNcaProtoError);
  EXPECT_EQ(ParseServerPdu(out[0]).call_id, 10u);

  // A new first fragment abandons an unfinished call; the pipe still works.
  ASSERT_EQ(pipe.Write(RequestPdu(15, stub.substr(0, 8), 11, 0, kPfcFirstFrag)),
            PipeEndpoint::kStatusSuccess);
  ASSERT_EQ(pipe.Write(RequestPdu(21, ServerGetInfoStub(100), 12)),
            PipeEndpoint::kStatusSuccess);
  out = DrainMessages(&pipe);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(ParseServerPdu(out[0]).type, 2);
  EXPECT_EQ(ParseServerPdu(out[0]).call_id, 12u);
}

TEST(DcerpcFragment, OversizedRequestFaultsOnceAndDropsTheRest) {
  PipeEndpoint pipe = BoundPipe();
  std::string chunk(4000, 'x');
  ASSERT_EQ(pipe.Write(RequestPdu(15, chunk, 4, 0, kPfcFirstFrag)),
            PipeEndpoint::kStatusSuccess);
  size_t sent = chunk.size();
  while (sent <= PipeEndpoint::kMaxRequestStub) {
    ASSERT_FALSE(pipe.HasOutput());
    ASSERT_EQ(pipe.Write(RequestPdu(15, chunk, 4, 0, 0)),
              PipeEndpoint::kStatusSuccess);
    sent += chunk.size();
  }
  std::vector<std::string> out = DrainMessages(&pipe);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(FaultStatus(out[0]), kNcaRemoteNoMemory);
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(pipe.Write(RequestPdu(15, chunk, 4, 0, 0)),
              PipeEndpoint::kStatusSuccess);
  }
  ASSERT_EQ(pipe.Write(RequestPdu(15, chunk, 4, 0, kPfcLastFrag)),
            PipeEndpoint::kStatusSuccess);
  EXPECT_FALSE(pipe.HasOutput());
  // Next call is fine.
  ASSERT_EQ(pipe.Write(RequestPdu(21, ServerGetInfoStub(101), 5)),
            PipeEndpoint::kStatusSuccess);
  EXPECT_EQ(ParseServerPdu(DrainMessages(&pipe).at(0)).type, 2);
}

TEST(DcerpcFragment, ObjectUuidIsSkipped) {
  PipeEndpoint pipe = BoundPipe();
  std::string stub = ServerGetInfoStub(100);
  std::string pdu = RequestPdu(21, std::string(16, '\x42') + stub, 3, 0,
                               kPfcFirstFrag | kPfcLastFrag | kPfcObjectUuid);
  ASSERT_EQ(pipe.Write(pdu), PipeEndpoint::kStatusSuccess);
  StubReader r(ResponseStub(DrainMessages(&pipe), 3));
  EXPECT_EQ(r.U32(), 100u);
}

TEST(DcerpcFragment, UnreadOutputIsBounded) {
  PipeEndpoint pipe = BoundPipe(ManyShares(300));
  std::string req = RequestPdu(15, ShareEnumStub(2));
  int accepted = 0;
  uint32_t status = PipeEndpoint::kStatusSuccess;
  while ((status = pipe.Write(req)) == PipeEndpoint::kStatusSuccess) {
    ++accepted;
    ASSERT_LT(accepted, 10000);
  }
  EXPECT_EQ(status, PipeEndpoint::kStatusInsufficientResources);
  EXPECT_GT(accepted, 10);
  // Reading frees room again.
  while (pipe.HasOutput()) pipe.Read(1 << 20, nullptr);
  EXPECT_EQ(pipe.Write(req), PipeEndpoint::kStatusSuccess);
}

}  // namespace
}  // namespace concordfs::smb::dcerpc
