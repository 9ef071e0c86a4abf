#include <gtest/gtest.h>

#include "smb/wire/le.h"
#include "smb/wire/unicode.h"

namespace concordfs::smb {
namespace {

TEST(LeCodec, RoundTripAndPatch) {
  std::string buf;
  LeWriter w(&buf);
  w.U8(1);
  w.U16(0x0203);
  w.U32(0x04050607);
  w.U64(0x08090a0b0c0d0e0fULL);
  w.PatchU16(1, 0xBEEF);
  EXPECT_EQ(buf.size(), 15u);
  EXPECT_EQ(static_cast<uint8_t>(buf[1]), 0xEF);
  LeReader r(buf);
  EXPECT_EQ(r.U8(), 1);
  EXPECT_EQ(r.U16(), 0xBEEF);
  EXPECT_EQ(r.U32(), 0x04050607u);
  EXPECT_EQ(r.U64(), 0x08090a0b0c0d0e0fULL);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.U8(), 0);
  EXPECT_FALSE(r.ok());
}

TEST(LeCodec, OutOfRangeIsRecordedNotRead) {
  LeReader r(std::string_view("abc", 3));
  EXPECT_TRUE(r.At(1, 2) == "bc");
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.At(2, 5).empty());
  EXPECT_FALSE(r.ok());
  LeReader r2(std::string_view("abc", 3));
  r2.Seek(4);
  EXPECT_FALSE(r2.ok());
}

TEST(Unicode, RoundTrips) {
  for (std::string s :
       {"", "abc", "h\xC3\xA9llo", "\xE2\x82\xAC", "\xF0\x9F\x98\x80 emoji"}) {
    auto back = Utf16ToUtf8(Utf8ToUtf16(s));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, s);
  }
  EXPECT_EQ(Utf8ToUtf16("A"), std::string("A\0", 2));
  EXPECT_EQ(Utf8ToUtf16("\xF0\x9F\x98\x80").size(), 4u);  // surrogate pair
}

TEST(Unicode, MalformedUtf16Rejected) {
  EXPECT_FALSE(Utf16ToUtf8(std::string("A", 1)).has_value());
  EXPECT_FALSE(Utf16ToUtf8(std::string("\x00\xD8", 2)).has_value());
  EXPECT_FALSE(Utf16ToUtf8(std::string("\x00\xDC"
                                       "A\0",
                                       4))
                   .has_value());
  EXPECT_EQ(Utf8ToUtf16("\xFF"), std::string("\xFD\xFF", 2));
}

TEST(Unicode, CaseFolding) {
  EXPECT_EQ(Utf8ToUpper("user1"), "USER1");
  EXPECT_TRUE(Utf8EqualsIgnoreCase("Administrator", "ADMINISTRATOR"));
  EXPECT_TRUE(Utf8EqualsIgnoreCase("\xC3\xA9t\xC3\xA9", "\xC3\x89T\xC3\x89"));
  EXPECT_FALSE(Utf8EqualsIgnoreCase("a", "b"));
}

}  // namespace
}  // namespace concordfs::smb
