#include "smb/info/names.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "smb/wire/unicode.h"

namespace concordfs::smb {
namespace {

struct Case {
  std::string name;
  NtStatus status;
  std::vector<std::string> components;
  std::string stream;
};

const std::vector<Case>& Cases() {
  static const std::vector<Case> cases = {
      // Valid.
      {"", kStatusSuccess, {}, ""},
      {"a", kStatusSuccess, {"a"}, ""},
      {"dir\\sub\\file.txt", kStatusSuccess, {"dir", "sub", "file.txt"}, ""},
      {"with space\\x y", kStatusSuccess, {"with space", "x y"}, ""},
      {"caf\xC3\xA9", kStatusSuccess, {"caf\xC3\xA9"}, ""},
      {"a.", kStatusSuccess, {"a."}, ""},
      {"...", kStatusSuccess, {"..."}, ""},
      // "." and "..".
      {".", kStatusSuccess, {}, ""},
      {"a\\.\\b", kStatusSuccess, {"a", "b"}, ""},
      {"a\\..\\b", kStatusSuccess, {"b"}, ""},
      {"a\\b\\..", kStatusSuccess, {"a"}, ""},
      {"..", kStatusObjectPathSyntaxBad, {}, ""},
      {"a\\..\\..\\b", kStatusObjectPathSyntaxBad, {}, ""},
      // Leading backslash (MS-SMB2 CREATE).
      {"\\a", kStatusInvalidParameter, {}, ""},
      {"\\", kStatusInvalidParameter, {}, ""},
      // Empty components.
      {"a\\\\b", kStatusObjectNameInvalid, {}, ""},
      {"a\\\\", kStatusObjectNameInvalid, {}, ""},
      // Invalid characters.
      {"a*b", kStatusObjectNameInvalid, {}, ""},
      {"a?b", kStatusObjectNameInvalid, {}, ""},
      {"a<b", kStatusObjectNameInvalid, {}, ""},
      {"a>b", kStatusObjectNameInvalid, {}, ""},
      {"a|b", kStatusObjectNameInvalid, {}, ""},
      {"a\"b", kStatusObjectNameInvalid, {}, ""},
      {"a/b", kStatusObjectNameInvalid, {}, ""},
      {std::string("a\x01") + "b", kStatusObjectNameInvalid, {}, ""},
      {std::string("a\0b", 3), kStatusObjectNameInvalid, {}, ""},
      {"d*r\\file", kStatusObjectNameInvalid, {}, ""},
      // Streams.
      {"f:s", kStatusSuccess, {"f"}, "s"},
      {"d\\f:s:$DATA", kStatusSuccess, {"d", "f"}, "s"},
      {"f:s:$data", kStatusSuccess, {"f"}, "s"},
      {"f::$DATA", kStatusSuccess, {"f"}, ""},
      {"f:$DATA", kStatusSuccess, {"f"}, ""},
      {"f:Zone.Identifier:$DATA", kStatusSuccess, {"f"}, "Zone.Identifier"},
      {"f:s*?", kStatusSuccess, {"f"}, "s*?"},
      {":s", kStatusSuccess, {}, "s"},
      {"f:", kStatusObjectNameInvalid, {}, ""},
      {"f::", kStatusObjectNameInvalid, {}, ""},
      {"f:s:$INDEX_ALLOCATION", kStatusObjectNameInvalid, {}, ""},
      {"f:s:$DATA:x", kStatusObjectNameInvalid, {}, ""},
      {"d:s\\f", kStatusObjectNameInvalid, {}, ""},
      {"d\\:s", kStatusObjectNameInvalid, {}, ""},
      {"..:s", kStatusObjectNameInvalid, {}, ""},
      {"f:s\x01", kStatusObjectNameInvalid, {}, ""},
      // Trailing backslash.
      {"dir\\", kStatusSuccess, {"dir"}, ""},
      {"a\\b\\", kStatusSuccess, {"a", "b"}, ""},
      {"f:s\\", kStatusObjectNameInvalid, {}, ""},
      // Component lengths: 255 fine, 256 not; UTF-8 bytes count too.
      {std::string(255, 'x'), kStatusSuccess, {std::string(255, 'x')}, ""},
      {std::string(256, 'x'), kStatusObjectNameInvalid, {}, ""},
      {"d\\" + std::string(256, 'x'), kStatusObjectNameInvalid, {}, ""},
      {std::string(256, 'x') + "\\d", kStatusObjectNameInvalid, {}, ""},
      {"f:" + std::string(256, 's'), kStatusObjectNameInvalid, {}, ""},
  };
  return cases;
}

TEST(SmbPath, Table) {
  for (const Case& c : Cases()) {
    SCOPED_TRACE("name '" + c.name + "'");
    SmbPath p;
    NtStatus st = ParseSmbPath(Utf8ToUtf16(c.name), &p);
    EXPECT_EQ(st, c.status) << NtStatusName(st);
    if (st == kStatusSuccess && c.status == kStatusSuccess) {
      EXPECT_EQ(p.components, c.components);
      EXPECT_EQ(p.stream, c.stream);
    }
    SmbPath q;
    EXPECT_EQ(ParseSmbPathUtf8(c.name, &q), c.status);
  }
}

TEST(SmbPath, TrailingSeparatorFlag) {
  SmbPath p;
  ASSERT_EQ(ParseSmbPathUtf8("a\\b\\", &p), kStatusSuccess);
  EXPECT_TRUE(p.trailing_separator);
  ASSERT_EQ(ParseSmbPathUtf8("a\\b", &p), kStatusSuccess);
  EXPECT_FALSE(p.trailing_separator);
}

TEST(SmbPath, Utf16Rules) {
  SmbPath p;
  // Odd length.
  EXPECT_EQ(ParseSmbPath(std::string("a\0b", 3), &p), kStatusInvalidParameter);
  // Unpaired surrogate.
  EXPECT_EQ(ParseSmbPath(std::string("\x00\xD8", 2), &p),
            kStatusObjectNameInvalid);
  // A supplementary-plane character counts as two UTF-16 units: 127 of
  // them (254 units, 508 UTF-8 bytes) exceed the backend's 255 bytes.
  std::string emoji;
  for (int i = 0; i < 127; ++i) emoji += "\xF0\x9F\x98\x80";
  EXPECT_EQ(ParseSmbPath(Utf8ToUtf16(emoji), &p), kStatusObjectNameInvalid);
  // 85 three-byte characters = 255 bytes: fine; 86 = 258: not.
  std::string cjk;
  for (int i = 0; i < 85; ++i) cjk += "\xE4\xB8\xAD";
  EXPECT_EQ(ParseSmbPath(Utf8ToUtf16(cjk), &p), kStatusSuccess);
  cjk += "\xE4\xB8\xAD";
  EXPECT_EQ(ParseSmbPath(Utf8ToUtf16(cjk), &p), kStatusObjectNameInvalid);
}

TEST(SmbPath, Join) {
  SmbPath p;
  ASSERT_EQ(ParseSmbPathUtf8("a\\b\\c:s", &p), kStatusSuccess);
  EXPECT_EQ(JoinSmbPath(p), "a\\b\\c");
  EXPECT_EQ(JoinSmbPath(SmbPath{}), "");
  EXPECT_TRUE(SmbPath{}.is_root());
}

TEST(SmbPath, ValidComponent) {
  EXPECT_TRUE(IsValidSmbComponent("file.txt"));
  EXPECT_FALSE(IsValidSmbComponent(""));
  EXPECT_FALSE(IsValidSmbComponent("."));
  EXPECT_FALSE(IsValidSmbComponent(".."));
  EXPECT_FALSE(IsValidSmbComponent("a:b"));
  EXPECT_FALSE(IsValidSmbComponent("a\\b"));
  EXPECT_FALSE(IsValidSmbComponent(std::string(256, 'a')));
}

TEST(SmbPath, FailureLeavesEmptyResult) {
  SmbPath p;
  p.components = {"stale"};
  EXPECT_EQ(ParseSmbPathUtf8("a\\*", &p), kStatusObjectNameInvalid);
  EXPECT_TRUE(p.components.empty());
  EXPECT_TRUE(p.stream.empty());
}

}  // namespace
}  // namespace concordfs::smb
