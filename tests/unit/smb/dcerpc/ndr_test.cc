// NDR writer/reader and the PDU encoders, byte by byte.
#include "smb/dcerpc/ndr.h"

#include <gtest/gtest.h>

#include "smb/dcerpc/pdu.h"
#include "tests/unit/smb/dcerpc/dcerpc_test_util.h"

namespace concordfs::smb::dcerpc {
namespace {

std::string Hex(std::string_view s) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out.push_back(d[c >> 4]);
    out.push_back(d[c & 15]);
  }
  return out;
}

TEST(Ndr, WriterLayout) {
  std::string out;
  NdrWriter w(&out);
  w.U16(7);
  w.U32(1);  // aligned to 4
  w.Pointer(true);
  w.Pointer(false);
  w.Pointer(true);
  w.String("ab");
  w.U32(9);  // aligned after the 6 string bytes
  EXPECT_EQ(Hex(out),
            "0700"
            "0000"
            "01000000"
            "00000200"
            "00000000"
            "04000200"
            "03000000"
            "00000000"
            "03000000"
            "610062000000"
            "0000"
            "09000000");
}

TEST(Ndr, EmptyStringIsJustTheNul) {
  std::string out;
  NdrWriter w(&out);
  w.String("");
  EXPECT_EQ(Hex(out),
            "01000000"
            "00000000"
            "01000000"
            "0000");
}

TEST(Ndr, ReaderRoundTrip) {
  std::string out;
  NdrWriter w(&out);
  w.U32(5);
  w.String("Grüße ✓");
  w.U16(3);
  w.Pointer(true);
  NdrReader r(out);
  EXPECT_EQ(r.U32(), 5u);
  EXPECT_EQ(r.String(), "Grüße ✓");
  EXPECT_EQ(r.U16(), 3);
  EXPECT_TRUE(r.Pointer());
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
  r.U32();
  EXPECT_FALSE(r.ok());
}

std::string StringHeader(uint32_t max, uint32_t off, uint32_t actual) {
  std::string s;
  LeWriter w(&s);
  w.U32(max);
  w.U32(off);
  w.U32(actual);
  return s;
}

TEST(Ndr, ReaderRejectsBadStrings) {
  std::string units("a\0b\0\0\0", 6);
  struct Case {
    std::string bytes;
    bool ok;
  } cases[] = {
      {StringHeader(3, 0, 3) + units, true},
      {StringHeader(3, 1, 3) + units, false},      // offset
      {StringHeader(2, 0, 3) + units, false},      // actual > max
      {StringHeader(3, 0, 4) + units, false},      // past the end
      {StringHeader(~0u, 0, ~0u) + units, false},  // absurd
      {StringHeader(5000, 0, 5000) + std::string(10000, 'a'), false},
      {StringHeader(1, 0, 1) + std::string("\0\xd8", 2), false},  // surrogate
      {StringHeader(3, 0, 3) + units.substr(0, 5), false},
      {StringHeader(0, 0, 0), true},
      {StringHeader(2, 0, 2) + std::string("a\0b\0", 4), true},  // no NUL
  };
  for (const Case& c : cases) {
    NdrReader r(c.bytes);
    std::string s = r.String();
    EXPECT_EQ(r.ok(), c.ok) << Hex(c.bytes);
    if (c.ok && c.bytes.size() > 12) {
      EXPECT_EQ(s, "ab");
    }
  }
}

TEST(Pdu, FaultLayout) {
  EXPECT_EQ(Hex(EncodeFault(0x11223344, 2, kNcaOpRangeError)),
            "05000323"
            "10000000"
            "2000"
            "0000"
            "44332211"
            "00000000"
            "0200"
            "00"
            "00"
            "0200011c"
            "00000000");
}

TEST(Pdu, BindNakLayout) {
  EXPECT_EQ(Hex(EncodeBindNak(9, kNakProtocolVersionNotSupported)),
            "05000d03"
            "10000000"
            "1800"
            "0000"
            "09000000"
            "0400"
            "01"
            "0500"
            "000000");
}

TEST(Pdu, EmptyResponseIsOneFragment) {
  std::vector<std::string> f = EncodeResponse(3, 1, "", 1024);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(Hex(f[0]),
            "05000203"
            "10000000"
            "1800"
            "0000"
            "03000000"
            "00000000"
            "0100"
            "00"
            "00");
}

TEST(Pdu, ResponseFragmentsExactMultiple) {
  std::string stub(2000, 'z');  // exactly two 1000-byte chunks at 1024
  std::vector<std::string> f = EncodeResponse(3, 0, stub, 1024);
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0][3], kPfcFirstFrag);
  EXPECT_EQ(f[1][3], kPfcLastFrag);
  EXPECT_EQ(f[0].size(), 1024u);
  EXPECT_EQ(f[1].size(), 1024u);
}

TEST(Pdu, BindTimeFeatureSyntax) {
  SyntaxId s{{0x6cb71c2c, 0x9812, 0x4540, {3, 0, 0, 0, 0, 0, 0, 0}}, 1};
  EXPECT_TRUE(IsBindTimeFeatureSyntax(s));
  s.version = 2;
  EXPECT_FALSE(IsBindTimeFeatureSyntax(s));
  EXPECT_FALSE(IsBindTimeFeatureSyntax(kNdrSyntax));
}

}  // namespace
}  // namespace concordfs::smb::dcerpc
