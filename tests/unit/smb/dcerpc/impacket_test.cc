// Replays client PDUs that impacket encoded and compares the answers with
// the ones impacket decoded and checked (impacket_crosscheck.py).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "smb/dcerpc/pipe.h"
#include "tests/unit/smb/dcerpc/dcerpc_test_util.h"
#include "tests/unit/smb/dcerpc/impacket_fixtures.h"

namespace concordfs::smb::dcerpc {
namespace {

std::string Unhex(std::string_view hex) {
  std::string out;
  auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(nibble(hex[i]) << 4 | nibble(hex[i + 1])));
  }
  return out;
}

std::string Hex(std::string_view s) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out.push_back(d[c >> 4]);
    out.push_back(d[c & 15]);
  }
  return out;
}

std::string Drain(PipeEndpoint* pipe) {
  std::string all;
  for (const std::string& m : testing::DrainMessages(pipe)) all += m;
  return all;
}

const char* GoldenFor(std::string_view name) {
  for (const testing::ImpacketGolden& g : testing::kImpacketGolden) {
    if (name == g.name) return g.responses;
  }
  return nullptr;
}

TEST(ImpacketCrossCheck, AnswersMatchWhatImpacketDecoded) {
  // CONCORDFS_DCERPC_DUMP=<file>: write the answers for the script to check.
  const char* dump_path = std::getenv("CONCORDFS_DCERPC_DUMP");
  std::ofstream dump;
  if (dump_path != nullptr) dump.open(dump_path);
  for (const testing::ImpacketExchange& x : testing::kImpacketRequests) {
    SCOPED_TRACE(x.name);
    bool many = x.max_recv_frag == 1024;
    std::vector<PipeShare> shares =
        many ? testing::ManyShares(60) : testing::SampleShares();
    PipeEndpoint pipe(
        "srvsvc", [shares] { return shares; }, PipeServerInfo{});
    ASSERT_EQ(pipe.Write(Unhex(many ? testing::kImpacketBind1024
                                    : testing::kImpacketBind4280)),
              PipeEndpoint::kStatusSuccess);
    std::string ack = Drain(&pipe);
    ASSERT_GE(ack.size(), 24u);
    ack.replace(20, 4, 4, '\0');  // the association group id varies
    ASSERT_EQ(pipe.Write(Unhex(x.request)), PipeEndpoint::kStatusSuccess);
    std::string answer = Hex(Drain(&pipe));
    if (dump.is_open()) {
      dump << x.name << " " << x.max_recv_frag << " " << Hex(ack) << " "
           << answer << "\n";
    }
    const char* golden = GoldenFor(x.name);
    if (golden == nullptr) {
      ADD_FAILURE() << "no golden answer; got " << answer;
      continue;
    }
    EXPECT_EQ(answer, golden);
  }
}

}  // namespace
}  // namespace concordfs::smb::dcerpc
