// ShareModeTable: SMB share access, NLM SHARE and local opens in one table.
// The rule: two opens conflict when either one's access is not in the
// other's share mask; a local open shares everything.
#include "locking/share_modes.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

namespace concordfs::locking {
namespace {

constexpr uint32_t R = kAccessRead;
constexpr uint32_t W = kAccessWrite;
constexpr uint32_t D = kAccessDelete;
constexpr uint32_t kNone = 0;

Owner SmbOpen(uint64_t session, uint64_t open) {
  return {Protocol::kSmb, session, "", open};
}
Owner LocalOpen(uint64_t open) { return {Protocol::kLocal, 0, "", open}; }
Owner NlmShare(uint64_t host, const std::string& oh) {
  return {Protocol::kNlm, host, oh, 0};
}

ShareOpen Open(const Owner& o, uint32_t access, uint32_t share) {
  return {o, access, share};
}
ShareOpen Local(uint64_t open, uint32_t access) {
  return {LocalOpen(open), access, kShareAll};
}

std::vector<std::string> Entries(const ShareModeTable& t) {
  std::vector<ShareEntry> all;
  t.List(&all);
  std::vector<std::string> out;
  for (const ShareEntry& e : all) {
    out.push_back("f" + std::to_string(e.file) + " p" +
                  std::to_string(static_cast<int>(e.open.owner.protocol)) +
                  "/" + std::to_string(e.open.owner.client) + "/" +
                  e.open.owner.owner + "#" + std::to_string(e.open.owner.open) +
                  " a" + std::to_string(e.open.access) + " s" +
                  std::to_string(e.open.share));
  }
  std::sort(out.begin(), out.end());
  return out;
}
using Strings = std::vector<std::string>;

TEST(ShareConflictTest, Table) {
  struct Row {
    uint32_t a_access, a_share, b_access, b_share;
    bool conflict;
  };
  const Row rows[] = {
      {R, R, R, R, false},                  // readers sharing read
      {R, R | W, W, R | W, false},          // reader and writer, both share
      {W, R, R, R, true},                   // b does not share write
      {R, R, W, R | W, true},               // a denies b's write
      {R, kShareAll, R | W, R, false},      // b denies write; a only reads
      {kNone, kNone, kNone, kNone, false},  // attribute-only opens
      {kNone, kNone, R, kShareAll, true},   // a shares nothing, b reads
      {D, kShareAll, R, R | W, true},       // b does not share delete
      {D, kShareAll, R, kShareAll, false},
      {R | W | D, kShareAll, R | W | D, kShareAll, false},
      {R | W, R | W, R | W, R | W, false},
      {R | W, R | W, D, kShareAll, true},  // a does not share delete
  };
  for (const Row& r : rows) {
    ShareOpen a = Open(SmbOpen(1, 1), r.a_access, r.a_share);
    ShareOpen b = Open(SmbOpen(1, 2), r.b_access, r.b_share);
    bool formula = (r.a_access & ~r.b_share) || (r.b_access & ~r.a_share);
    SCOPED_TRACE(::testing::Message()
                 << "a=" << r.a_access << "/" << r.a_share
                 << " b=" << r.b_access << "/" << r.b_share);
    ASSERT_EQ(formula, r.conflict) << "the table row itself is wrong";
    EXPECT_EQ(ShareConflict(a, b), r.conflict);
    EXPECT_EQ(ShareConflict(b, a), r.conflict);
  }
}

TEST(ShareConflictTest, ExhaustiveAgainstFormula) {
  for (uint32_t aa = 0; aa < 8; ++aa) {
    for (uint32_t as = 0; as < 8; ++as) {
      for (uint32_t ba = 0; ba < 8; ++ba) {
        for (uint32_t bs = 0; bs < 8; ++bs) {
          bool want = (aa & ~bs) || (ba & ~as);
          ASSERT_EQ(ShareConflict(Open(SmbOpen(1, 1), aa, as),
                                  Open(SmbOpen(1, 2), ba, bs)),
                    want)
              << aa << "/" << as << " vs " << ba << "/" << bs;
        }
      }
    }
  }
}

TEST(ShareModeTableTest, OpenRegistersOrReportsTheConflict) {
  ShareModeTable t;
  const ShareOpen first = Open(SmbOpen(1, 1), R, R);  // deny write
  EXPECT_EQ(t.Open(1, first), std::nullopt);
  EXPECT_EQ(t.Open(1, Open(SmbOpen(1, 2), R, R | W)), std::nullopt);
  std::optional<ShareOpen> got =
      t.Open(1, Open(SmbOpen(2, 1), R | W, kShareAll));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->owner, first.owner);
  EXPECT_EQ(got->access, first.access);
  EXPECT_EQ(got->share, first.share);
  EXPECT_EQ(Entries(t), (Strings{"f1 p3/1/#1 a1 s1", "f1 p3/1/#2 a1 s3"}));
  // Another file is another table.
  EXPECT_EQ(t.Open(2, Open(SmbOpen(2, 1), R | W, kShareAll)), std::nullopt);
}

TEST(ShareModeTableTest, CheckRegistersNothing) {
  ShareModeTable t;
  ASSERT_EQ(t.Open(1, Open(SmbOpen(1, 1), R | W, kNone)), std::nullopt);
  std::optional<ShareOpen> c = t.Check(1, Open(SmbOpen(1, 2), R, kShareAll));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->owner, SmbOpen(1, 1));
  EXPECT_EQ(t.Check(2, Open(SmbOpen(1, 2), R, kShareAll)), std::nullopt);
  EXPECT_EQ(Entries(t).size(), 1u);
}

TEST(ShareModeTableTest, LocalWriterBlocksSmbDenyWrite) {
  ShareModeTable t;
  ASSERT_EQ(t.Open(1, Local(10, R | W)), std::nullopt);
  // An SMB open that denies write cannot coexist with a local writer.
  std::optional<ShareOpen> c = t.Open(1, Open(SmbOpen(1, 1), R, R));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->owner, LocalOpen(10));
  // One that shares read and write can.
  EXPECT_EQ(t.Open(1, Open(SmbOpen(1, 2), R, R | W)), std::nullopt);
  // Denying delete is fine: the local open does not delete.
  EXPECT_EQ(t.Open(1, Open(SmbOpen(1, 3), R | W, R | W)), std::nullopt);
}

TEST(ShareModeTableTest, LocalReaderBlocksSmbDenyAll) {
  ShareModeTable t;
  ASSERT_EQ(t.Open(1, Local(10, R)), std::nullopt);
  EXPECT_EQ(t.Open(1, Open(SmbOpen(1, 1), R | W, R)), std::nullopt);
  EXPECT_EQ(t.Close(1, SmbOpen(1, 1)), true);
  std::optional<ShareOpen> c = t.Open(1, Open(SmbOpen(1, 1), R, kNone));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->owner, LocalOpen(10));
}

TEST(ShareModeTableTest, SmbDenyModeBlocksLocalOpens) {
  ShareModeTable t;
  ASSERT_EQ(t.Open(1, Open(SmbOpen(1, 1), R, R)), std::nullopt);  // deny W
  EXPECT_EQ(t.Open(1, Local(10, R)), std::nullopt);
  std::optional<ShareOpen> c = t.Open(1, Local(11, R | W));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->owner, SmbOpen(1, 1));
  // Local opens never block each other.
  EXPECT_EQ(t.Open(2, Local(10, R | W | D)), std::nullopt);
  EXPECT_EQ(t.Open(2, Local(11, R | W | D)), std::nullopt);
}

TEST(ShareModeTableTest, NlmShareDenyMode) {
  ShareModeTable t;
  // NLM SHARE: access read, deny write (share = ~deny = read|delete).
  const Owner n = NlmShare(1, "oh");
  ASSERT_EQ(t.Open(1, Open(n, R, kShareAll & ~W)), std::nullopt);
  std::optional<ShareOpen> c = t.Open(1, Open(SmbOpen(1, 1), W, kShareAll));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->owner, n);
  EXPECT_EQ(t.Open(1, Open(SmbOpen(1, 1), R, kShareAll)), std::nullopt);
}

TEST(ShareModeTableTest, CloseMakesRoom) {
  ShareModeTable t;
  ASSERT_EQ(t.Open(1, Open(SmbOpen(1, 1), R | W, kNone)), std::nullopt);
  ASSERT_TRUE(t.Open(1, Open(SmbOpen(1, 2), R, kShareAll)).has_value());
  EXPECT_FALSE(t.Close(2, SmbOpen(1, 1)));  // wrong file
  EXPECT_FALSE(t.Close(1, SmbOpen(1, 2)));  // never registered
  EXPECT_TRUE(t.Close(1, SmbOpen(1, 1)));
  EXPECT_FALSE(t.Close(1, SmbOpen(1, 1)));
  EXPECT_TRUE(Entries(t).empty());
  EXPECT_EQ(t.Open(1, Open(SmbOpen(1, 2), R, kShareAll)), std::nullopt);
}

TEST(ShareModeTableTest, ReopenBySameOwnerReplaces) {
  ShareModeTable t;
  const Owner n = NlmShare(1, "oh");
  ASSERT_EQ(t.Open(1, Open(n, R | W, kNone)), std::nullopt);
  // A retransmit does not conflict with itself.
  EXPECT_EQ(t.Open(1, Open(n, R | W, kNone)), std::nullopt);
  EXPECT_EQ(Entries(t).size(), 1u);
  ASSERT_TRUE(t.Open(1, Open(NlmShare(2, "oh"), R, kShareAll)).has_value());
  // Relaxing the deny mode replaces the entry and lets the other host in.
  EXPECT_EQ(t.Open(1, Open(n, R, R | W)), std::nullopt);
  EXPECT_EQ(Entries(t), Strings{"f1 p2/1/oh#0 a1 s3"});
  EXPECT_EQ(t.Open(1, Open(NlmShare(2, "oh"), R, kShareAll)), std::nullopt);
  EXPECT_EQ(Entries(t).size(), 2u);
}

TEST(ShareModeTableTest, RefusedReopenKeepsTheOldEntry) {
  ShareModeTable t;
  const Owner a = SmbOpen(1, 1);
  ASSERT_EQ(t.Open(1, Open(a, R, kShareAll)), std::nullopt);
  ASSERT_EQ(t.Open(1, Open(SmbOpen(1, 2), R, R)), std::nullopt);
  // `a` now wants to write; the other open denies write.
  std::optional<ShareOpen> c = t.Open(1, Open(a, R | W, kShareAll));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->owner, SmbOpen(1, 2));
  EXPECT_EQ(Entries(t), (Strings{"f1 p3/1/#1 a1 s7", "f1 p3/1/#2 a1 s1"}));
}

TEST(ShareModeTableTest, CloseClient) {
  ShareModeTable t;
  for (FileId f = 1; f <= 100; ++f) {
    ASSERT_EQ(t.Open(f, Open(SmbOpen(1, f), R, R)), std::nullopt);
  }
  ASSERT_EQ(t.Open(1, Open(SmbOpen(2, 1), R, R)), std::nullopt);
  ASSERT_EQ(t.Open(1, Open(NlmShare(1, "oh"), R, R)), std::nullopt);
  ASSERT_EQ(t.Open(1, Local(1, R)), std::nullopt);
  EXPECT_EQ(t.CloseClient(Protocol::kSmb, 1), 100u);
  EXPECT_EQ(t.CloseClient(Protocol::kSmb, 1), 0u);
  EXPECT_EQ(Entries(t), (Strings{"f1 p1/0/#1 a1 s7", "f1 p2/1/oh#0 a1 s1",
                                 "f1 p3/2/#1 a1 s1"}));
  EXPECT_EQ(t.CloseClient(Protocol::kNlm, 1), 1u);
  EXPECT_EQ(t.CloseClient(Protocol::kSmb, 2), 1u);
  EXPECT_EQ(Entries(t), Strings{"f1 p1/0/#1 a1 s7"});
  // Now a writer fits where the deny-write opens were.
  EXPECT_EQ(t.Open(5, Open(SmbOpen(3, 1), R | W, kShareAll)), std::nullopt);
}

TEST(ShareModeTableTest, FewShardsManyFiles) {
  ShareModeTable t(1);
  for (FileId f = 1; f <= 50; ++f) {
    ASSERT_EQ(t.Open(f, Open(SmbOpen(1, 1), R | W, kNone)), std::nullopt);
  }
  for (FileId f = 1; f <= 50; ++f) {
    ASSERT_TRUE(t.Check(f, Local(1, R)).has_value()) << f;
  }
  EXPECT_FALSE(t.Check(51, Local(1, R)).has_value());
  EXPECT_EQ(Entries(t).size(), 50u);
}

}  // namespace
}  // namespace concordfs::locking
