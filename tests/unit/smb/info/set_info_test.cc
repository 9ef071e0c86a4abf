#include "smb/info/set_info.h"

#include <gtest/gtest.h>

#include "smb/info/times.h"
#include "smb/wire/le.h"
#include "smb/wire/unicode.h"
#include "test_util.h"

namespace concordfs::smb {
namespace {

using testing::kT0;
using Kind = TimeChange::Kind;

std::string Basic(uint64_t c, uint64_t a, uint64_t w, uint64_t ch,
                  uint32_t attrs) {
  std::string s;
  LeWriter wr(&s);
  wr.U64(c);
  wr.U64(a);
  wr.U64(w);
  wr.U64(ch);
  wr.U32(attrs);
  wr.U32(0);
  return s;
}

std::string Rename(bool replace, std::string_view name_utf8,
                   uint64_t root = 0) {
  std::string s;
  LeWriter w(&s);
  std::string n = Utf8ToUtf16(name_utf8);
  w.U8(replace ? 1 : 0);
  w.Zeros(7);
  w.U64(root);
  w.U32(static_cast<uint32_t>(n.size()));
  w.Bytes(n);
  return s;
}

std::string U32Bytes(uint32_t v) {
  std::string s;
  LeWriter(&s).U32(v);
  return s;
}
std::string U64Bytes(uint64_t v) {
  std::string s;
  LeWriter(&s).U64(v);
  return s;
}

TEST(SetInfo, Basic) {
  uint64_t ft = ToFiletime(kT0);
  BasicInfoChange c;
  ASSERT_EQ(DecodeBasicInformation(
                Basic(ft, 0, kFiletimeFreeze, kFiletimeUnfreeze, 0x21), &c),
            kStatusSuccess);
  EXPECT_EQ(c.creation, (TimeChange{Kind::kSet, kT0}));
  EXPECT_EQ(c.last_access.kind, Kind::kUnchanged);
  EXPECT_EQ(c.last_write.kind, Kind::kFreeze);
  EXPECT_EQ(c.change.kind, Kind::kUnfreeze);
  EXPECT_EQ(c.attributes, 0x21u);
  // Times below -2 are invalid.
  EXPECT_EQ(DecodeBasicInformation(Basic(0, uint64_t(-3), 0, 0, 0), &c),
            kStatusInvalidParameter);
  // A longer buffer is fine.
  EXPECT_EQ(DecodeBasicInformation(Basic(0, 0, 0, 0, 0) + "xx", &c),
            kStatusSuccess);
  // A pre-1970 time.
  ASSERT_EQ(DecodeBasicInformation(Basic(1, 0, 0, 0, 0), &c), kStatusSuccess);
  EXPECT_EQ(c.creation.value, FromFiletime(1));
  EXPECT_LT(c.creation.value, 0);
}

TEST(SetInfo, Rename) {
  RenameInfo r;
  ASSERT_EQ(DecodeRenameInformation(Rename(true, "dir\\new.txt"), &r),
            kStatusSuccess);
  EXPECT_TRUE(r.replace_if_exists);
  EXPECT_EQ(r.name, "dir\\new.txt");
  EXPECT_EQ(r.path.components, (std::vector<std::string>{"dir", "new.txt"}));
  ASSERT_EQ(DecodeRenameInformation(Rename(false, "\\a\\b"), &r),
            kStatusSuccess);
  EXPECT_FALSE(r.replace_if_exists);
  EXPECT_EQ(r.path.components, (std::vector<std::string>{"a", "b"}));
  // A stream rename.
  ASSERT_EQ(DecodeRenameInformation(Rename(false, ":new"), &r), kStatusSuccess);
  EXPECT_TRUE(r.path.is_root());
  EXPECT_EQ(r.path.stream, "new");
  // Bad targets.
  EXPECT_EQ(DecodeRenameInformation(Rename(false, "a*b"), &r),
            kStatusObjectNameInvalid);
  EXPECT_EQ(DecodeRenameInformation(Rename(false, "\\"), &r),
            kStatusObjectNameInvalid);
  EXPECT_EQ(DecodeRenameInformation(Rename(false, "..\\x"), &r),
            kStatusObjectPathSyntaxBad);
  EXPECT_EQ(DecodeRenameInformation(Rename(false, ""), &r),
            kStatusInvalidParameter);
  EXPECT_EQ(DecodeRenameInformation(Rename(false, "a", 5), &r),
            kStatusInvalidParameter);
  // FileNameLength beyond the buffer, and odd.
  std::string s = Rename(false, "abc");
  s.resize(s.size() - 1);
  EXPECT_EQ(DecodeRenameInformation(s, &r), kStatusInfoLengthMismatch);
  s = Rename(false, "abc");
  s[16] = 5;
  EXPECT_EQ(DecodeRenameInformation(s, &r), kStatusInvalidParameter);
  s = Rename(false, "abc");
  s[19] = static_cast<char>(0x80);  // length 0x80000006
  EXPECT_EQ(DecodeRenameInformation(s, &r), kStatusInfoLengthMismatch);
}

TEST(SetInfo, Link) {
  RenameInfo r;
  ASSERT_EQ(DecodeLinkInformation(Rename(true, "x\\y"), &r), kStatusSuccess);
  EXPECT_EQ(r.path.components, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(DecodeLinkInformation(Rename(true, "x:s"), &r),
            kStatusObjectNameInvalid);
}

TEST(SetInfo, Disposition) {
  bool del = false;
  ASSERT_EQ(DecodeDispositionInformation(std::string(1, '\1'), &del),
            kStatusSuccess);
  EXPECT_TRUE(del);
  ASSERT_EQ(DecodeDispositionInformation(std::string(1, '\0'), &del),
            kStatusSuccess);
  EXPECT_FALSE(del);
  EXPECT_EQ(DecodeDispositionInformation("", &del), kStatusInfoLengthMismatch);

  DispositionEx ex;
  ASSERT_EQ(
      DecodeDispositionInformationEx(
          U32Bytes(kFileDispositionDelete | kFileDispositionPosixSemantics |
                   kFileDispositionIgnoreReadonlyAttribute),
          &ex),
      kStatusSuccess);
  EXPECT_TRUE(ex.delete_file());
  EXPECT_TRUE(ex.posix_semantics());
  EXPECT_TRUE(ex.ignore_readonly());
  EXPECT_FALSE(ex.on_close());
  EXPECT_EQ(DecodeDispositionInformationEx(U32Bytes(0x100), &ex),
            kStatusInvalidParameter);
}

TEST(SetInfo, SizesAndPosition) {
  uint64_t v = 0;
  ASSERT_EQ(DecodeEndOfFileInformation(U64Bytes(12345), &v), kStatusSuccess);
  EXPECT_EQ(v, 12345u);
  ASSERT_EQ(DecodeAllocationInformation(U64Bytes(1 << 20), &v), kStatusSuccess);
  EXPECT_EQ(v, 1u << 20);
  ASSERT_EQ(DecodeValidDataLengthInformation(U64Bytes(7), &v), kStatusSuccess);
  EXPECT_EQ(v, 7u);
  ASSERT_EQ(DecodePositionInformation(U64Bytes(99), &v), kStatusSuccess);
  EXPECT_EQ(v, 99u);
  for (auto* fn :
       {&DecodeEndOfFileInformation, &DecodeAllocationInformation,
        &DecodeValidDataLengthInformation, &DecodePositionInformation}) {
    EXPECT_EQ(fn(U64Bytes(uint64_t(-1)), &v), kStatusInvalidParameter);
    EXPECT_EQ(fn(U64Bytes(1ULL << 63), &v), kStatusInvalidParameter);
  }
}

TEST(SetInfo, Mode) {
  uint32_t m = 0;
  ASSERT_EQ(DecodeModeInformation(
                U32Bytes(kFileWriteThrough | kFileSynchronousIoNonalert), &m),
            kStatusSuccess);
  EXPECT_EQ(m, kFileWriteThrough | kFileSynchronousIoNonalert);
  EXPECT_EQ(DecodeModeInformation(U32Bytes(kFileDeleteOnClose), &m),
            kStatusInvalidParameter);
  EXPECT_EQ(DecodeModeInformation(U32Bytes(kFileNoIntermediateBuffering), &m),
            kStatusInvalidParameter);
  EXPECT_EQ(
      DecodeModeInformation(
          U32Bytes(kFileSynchronousIoAlert | kFileSynchronousIoNonalert), &m),
      kStatusInvalidParameter);
}

// Every prefix of a valid buffer shorter than the structure fails with
// INFO_LENGTH_MISMATCH (or, for the rename name, a parameter error); none
// crashes.
TEST(SetInfo, TruncationSweeps) {
  struct Sweep {
    std::string buf;
    size_t fixed;
    std::function<NtStatus(std::string_view)> fn;
  };
  BasicInfoChange basic;
  RenameInfo rename;
  bool del;
  DispositionEx ex;
  uint64_t u64;
  uint32_t u32;
  std::vector<Sweep> sweeps = {
      {Basic(1, 2, 3, 4, 5), 40,
       [&](std::string_view b) { return DecodeBasicInformation(b, &basic); }},
      {Rename(true, "dir\\file"), 20 + 16,
       [&](std::string_view b) { return DecodeRenameInformation(b, &rename); }},
      {Rename(true, "dir\\file"), 20 + 16,
       [&](std::string_view b) { return DecodeLinkInformation(b, &rename); }},
      {std::string(1, '\1'), 1,
       [&](std::string_view b) {
         return DecodeDispositionInformation(b, &del);
       }},
      {U32Bytes(1), 4,
       [&](std::string_view b) {
         return DecodeDispositionInformationEx(b, &ex);
       }},
      {U32Bytes(kFileWriteThrough), 4,
       [&](std::string_view b) { return DecodeModeInformation(b, &u32); }},
      {U64Bytes(5), 8,
       [&](std::string_view b) { return DecodePositionInformation(b, &u64); }},
      {U64Bytes(5), 8,
       [&](std::string_view b) {
         return DecodeAllocationInformation(b, &u64);
       }},
      {U64Bytes(5), 8,
       [&](std::string_view b) { return DecodeEndOfFileInformation(b, &u64); }},
      {U64Bytes(5), 8,
       [&](std::string_view b) {
         return DecodeValidDataLengthInformation(b, &u64);
       }},
  };
  for (const Sweep& s : sweeps) {
    ASSERT_EQ(s.fn(s.buf), kStatusSuccess);
    for (size_t len = 0; len < s.fixed; ++len) {
      // A fresh heap copy so ASan catches any read past `len`.
      std::string copy = s.buf.substr(0, len);
      EXPECT_EQ(s.fn(copy), kStatusInfoLengthMismatch) << len;
    }
  }
}

TEST(SetInfo, GarbageNeverCrashes) {
  RenameInfo r;
  BasicInfoChange b;
  for (int seed = 0; seed < 2000; ++seed) {
    std::string s(seed % 64, '\0');
    uint32_t x = seed * 2654435761u;
    for (char& c : s) {
      x = x * 1103515245 + 12345;
      c = static_cast<char>(x >> 16);
    }
    (void)DecodeRenameInformation(s, &r);
    (void)DecodeBasicInformation(s, &b);
  }
}

}  // namespace
}  // namespace concordfs::smb
