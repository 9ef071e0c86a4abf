// Lock semantics as tables (DESIGN.md "The lock model", rule 7): every POSIX
// merge/split/convert case (Linux fs/locks.c), every Windows stacking and
// exact-unlock case (Samba brlock.c), every cross-flavour rule. Each row is
// {locks taken first, one request, expected status, expected lock list}.
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "locking/lock_manager.h"
#include "locking/lock_types.h"

namespace concordfs::locking {
namespace {

constexpr uint64_t kEof = kToEof;
constexpr uint64_t kMax = UINT64_MAX;
constexpr FileId kFile = 7;
constexpr auto S = LockMode::kShared;
constexpr auto X = LockMode::kExclusive;

// The cast of owners. POSIX owners use owner bytes, flock and Windows opens.
enum Who {
  kA,       // local POSIX "A"
  kB,       // local POSIX "B"
  kAOpen5,  // local POSIX "A" but open 5: a different owner
  kNlmA,    // NLM client 1 "A": same bytes as kA, other protocol
  kN1,      // NLM client 1 "n"
  kN2,      // NLM client 2 "n": same bytes, other host
  kF1,      // local flock, open 1
  kF2,      // local flock, open 2
  kW1,      // SMB session 1, open 1
  kW2,      // SMB session 1, open 2
  kWhoCount
};
constexpr const char* kWhoName[] = {"A",  "B",  "A/o5", "nlmA", "n1",
                                    "n2", "F1", "F2",   "W1",   "W2"};

Owner OwnerOf(Who w) {
  switch (w) {
    case kA:
      return {Protocol::kLocal, 0, "A", 0};
    case kB:
      return {Protocol::kLocal, 0, "B", 0};
    case kAOpen5:
      return {Protocol::kLocal, 0, "A", 5};
    case kNlmA:
      return {Protocol::kNlm, 1, "A", 0};
    case kN1:
      return {Protocol::kNlm, 1, "n", 0};
    case kN2:
      return {Protocol::kNlm, 2, "n", 0};
    case kF1:
      return {Protocol::kLocal, 0, "", 1};
    case kF2:
      return {Protocol::kLocal, 0, "", 2};
    case kW1:
      return {Protocol::kSmb, 1, "", 1};
    case kW2:
      return {Protocol::kSmb, 1, "", 2};
    default:
      return {};
  }
}

// One lock (held, wanted or to unlock).
struct L {
  Who who;
  Flavor flavor;
  LockMode mode;
  uint64_t first, last;
  bool zero = false;
};
L P(Who w, LockMode m, uint64_t f, uint64_t l) {
  return {w, Flavor::kPosix, m, f, l};
}
L Fl(Who w, LockMode m) { return {w, Flavor::kFlock, m, 0, kEof}; }
L W(Who w, LockMode m, uint64_t f, uint64_t l) {
  return {w, Flavor::kWindows, m, f, l};
}
L Z(Who w, LockMode m, uint64_t at) {  // SMB zero-byte lock
  return {w, Flavor::kWindows, m, at, at, true};
}

LockRequest ToRequest(const L& l) {
  LockRequest r;
  r.file = kFile;
  r.owner = OwnerOf(l.who);
  r.flavor = l.flavor;
  r.mode = l.mode;
  r.range = Range{l.first, l.last, l.zero};
  r.pid = 100 + l.who;
  return r;
}

std::string Describe(const Owner& o, Flavor f, LockMode m, const Range& r) {
  std::string who = "?";
  for (int w = 0; w < kWhoCount; ++w) {
    if (OwnerOf(static_cast<Who>(w)) == o) who = kWhoName[w];
  }
  std::string last = r.last == kEof ? "EOF" : std::to_string(r.last);
  return who + " " + FlavorName(f) + (m == S ? " S[" : " X[") +
         std::to_string(r.first) + "," + last + "]" +
         (r.zero_length ? "z" : "");
}
std::string Describe(const L& l) {
  return Describe(OwnerOf(l.who), l.flavor, l.mode,
                  Range{l.first, l.last, l.zero});
}
std::string Describe(const Lock& l) {
  return Describe(l.owner, l.flavor, l.mode, l.range);
}

std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

std::vector<std::string> ListFile(LockManager& m) {
  std::vector<LockInfo> locks;
  std::vector<WaiterInfo> waiters;
  m.List(&locks, &waiters);
  std::vector<std::string> out;
  for (const LockInfo& i : locks) {
    if (i.file == kFile) out.push_back(Describe(i.lock));
  }
  return Sorted(out);
}

enum class Op { kLock, kUnlock, kTest };

struct Case {
  const char* name;
  std::vector<L> setup;  // each granted, in order
  Op op;
  L request;
  LockStatus status;
  std::vector<L> after;          // the file's locks afterwards
  std::optional<L> holder = {};  // for conflicts: the reported holder
};

// ctest lists parameters by name, not as a byte dump.
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class LockTableTest : public ::testing::TestWithParam<Case> {};

TEST_P(LockTableTest, Row) {
  const Case& c = GetParam();
  LockManager m;
  for (const L& l : c.setup) {
    ASSERT_EQ(m.Lock(ToRequest(l)).status, LockStatus::kGranted)
        << "setup " << Describe(l);
  }
  LockStatus got;
  std::optional<Lock> holder;
  switch (c.op) {
    case Op::kLock: {
      LockResult r = m.Lock(ToRequest(c.request));
      got = r.status;
      holder = r.holder;
      break;
    }
    case Op::kUnlock:
      got = m.Unlock(ToRequest(c.request));
      break;
    case Op::kTest: {
      LockResult r = m.Test(ToRequest(c.request));
      got = r.status;
      holder = r.holder;
      break;
    }
  }
  EXPECT_STREQ(LockStatusName(got), LockStatusName(c.status))
      << Describe(c.request);
  std::vector<std::string> want;
  for (const L& l : c.after) want.push_back(Describe(l));
  EXPECT_EQ(ListFile(m), Sorted(want));
  if (c.holder) {
    ASSERT_TRUE(holder.has_value());
    EXPECT_EQ(Describe(*holder), Describe(*c.holder));
    EXPECT_EQ(holder->pid, 100u + c.holder->who);
  }
}

auto Rows(const std::vector<Case>& rows) { return ::testing::ValuesIn(rows); }

std::string RowName(const ::testing::TestParamInfo<Case>& i) {
  return i.param.name;
}

constexpr auto kOk = LockStatus::kGranted;
constexpr auto kNo = LockStatus::kConflict;
constexpr auto kGone = LockStatus::kNotFound;
constexpr auto kLock = Op::kLock;
constexpr auto kUnlock = Op::kUnlock;
constexpr auto kTest = Op::kTest;

// clang-format off
// One owner's POSIX locks: merge (same mode), convert (other mode), split.
INSTANTIATE_TEST_SUITE_P(PosixLock, LockTableTest, Rows({
  {"IntoEmpty", {}, kLock, P(kA, X, 10, 19), kOk, {P(kA, X, 10, 19)}},
  {"SameInside", {P(kA, S, 10, 29)}, kLock, P(kA, S, 15, 19), kOk,
   {P(kA, S, 10, 29)}},
  {"SameOver", {P(kA, S, 10, 19)}, kLock, P(kA, S, 5, 29), kOk,
   {P(kA, S, 5, 29)}},
  {"SameOverlapLeft", {P(kA, S, 10, 19)}, kLock, P(kA, S, 5, 14), kOk,
   {P(kA, S, 5, 19)}},
  {"SameOverlapRight", {P(kA, S, 10, 19)}, kLock, P(kA, S, 15, 24), kOk,
   {P(kA, S, 10, 24)}},
  {"SameAdjacentLeft", {P(kA, X, 10, 19)}, kLock, P(kA, X, 5, 9), kOk,
   {P(kA, X, 5, 19)}},
  {"SameAdjacentRight", {P(kA, X, 10, 19)}, kLock, P(kA, X, 20, 29), kOk,
   {P(kA, X, 10, 29)}},
  {"SameGapOfOne", {P(kA, S, 10, 19)}, kLock, P(kA, S, 21, 29), kOk,
   {P(kA, S, 10, 19), P(kA, S, 21, 29)}},
  {"SameExact", {P(kA, S, 10, 19)}, kLock, P(kA, S, 10, 19), kOk,
   {P(kA, S, 10, 19)}},
  {"SameSpansSeveral", {P(kA, S, 0, 4), P(kA, S, 10, 14), P(kA, S, 20, 24)},
   kLock, P(kA, S, 3, 21), kOk, {P(kA, S, 0, 24)}},
  {"SameBridgesAdjacent", {P(kA, S, 0, 4), P(kA, S, 10, 14)}, kLock,
   P(kA, S, 5, 9), kOk, {P(kA, S, 0, 14)}},
  {"OtherInsideSplits", {P(kA, S, 10, 29)}, kLock, P(kA, X, 15, 19), kOk,
   {P(kA, S, 10, 14), P(kA, X, 15, 19), P(kA, S, 20, 29)}},
  {"OtherOverReplaces", {P(kA, S, 10, 19)}, kLock, P(kA, X, 5, 29), kOk,
   {P(kA, X, 5, 29)}},
  {"OtherOverlapLeft", {P(kA, S, 10, 19)}, kLock, P(kA, X, 5, 14), kOk,
   {P(kA, X, 5, 14), P(kA, S, 15, 19)}},
  {"OtherOverlapRight", {P(kA, S, 10, 19)}, kLock, P(kA, X, 15, 24), kOk,
   {P(kA, S, 10, 14), P(kA, X, 15, 24)}},
  {"OtherAdjacentKeepsBoth", {P(kA, S, 10, 19)}, kLock, P(kA, X, 20, 29), kOk,
   {P(kA, S, 10, 19), P(kA, X, 20, 29)}},
  {"OtherExactConverts", {P(kA, S, 10, 19)}, kLock, P(kA, X, 10, 19), kOk,
   {P(kA, X, 10, 19)}},
  {"OtherSameStart", {P(kA, S, 10, 19)}, kLock, P(kA, X, 10, 14), kOk,
   {P(kA, X, 10, 14), P(kA, S, 15, 19)}},
  {"OtherSameEnd", {P(kA, S, 10, 19)}, kLock, P(kA, X, 15, 19), kOk,
   {P(kA, S, 10, 14), P(kA, X, 15, 19)}},
  {"DowngradeMiddle", {P(kA, X, 0, 99)}, kLock, P(kA, S, 40, 59), kOk,
   {P(kA, X, 0, 39), P(kA, S, 40, 59), P(kA, X, 60, 99)}},
  {"MixedSpansSeveral", {P(kA, S, 0, 4), P(kA, X, 10, 14), P(kA, S, 20, 24)},
   kLock, P(kA, X, 3, 21), kOk,
   {P(kA, S, 0, 2), P(kA, X, 3, 21), P(kA, S, 22, 24)}},
  {"ConvertMergesWithNeighbour", {P(kA, X, 0, 2), P(kA, S, 3, 9)}, kLock,
   P(kA, X, 3, 9), kOk, {P(kA, X, 0, 9)}},
  {"ConvertMergesBothNeighbours",
   {P(kA, X, 0, 9), P(kA, S, 10, 19), P(kA, X, 20, 29)}, kLock,
   P(kA, X, 10, 19), kOk, {P(kA, X, 0, 29)}},
  {"EofSameMergesAdjacent", {P(kA, X, 10, kEof)}, kLock, P(kA, X, 0, 9), kOk,
   {P(kA, X, 0, kEof)}},
  {"EofOtherInsideSplits", {P(kA, S, 10, kEof)}, kLock, P(kA, X, 20, 29), kOk,
   {P(kA, S, 10, 19), P(kA, X, 20, 29), P(kA, S, 30, kEof)}},
  {"EofOtherTail", {P(kA, X, 10, kEof)}, kLock, P(kA, S, 50, kEof), kOk,
   {P(kA, X, 10, 49), P(kA, S, 50, kEof)}},
  {"EofSameOverFinite", {P(kA, S, 5, 9), P(kA, S, 20, 29)}, kLock,
   P(kA, S, 8, kEof), kOk, {P(kA, S, 5, kEof)}},
  {"LastByteMergesToEof", {P(kA, S, 0, kMax - 1)}, kLock, P(kA, S, kMax, kMax),
   kOk, {P(kA, S, 0, kEof)}},
  {"ByteZeroMergesRight", {P(kA, S, 1, 9)}, kLock, P(kA, S, 0, 0), kOk,
   {P(kA, S, 0, 9)}},
  // first - 1 must not wrap: a lock at 0 is not adjacent to one ending at EOF.
  {"ByteZeroNotAdjacentToEof", {P(kA, S, 100, kEof)}, kLock, P(kA, S, 0, 0),
   kOk, {P(kA, S, 0, 0), P(kA, S, 100, kEof)}},
  {"OwnLocksNeverConflict", {P(kA, X, 0, 99)}, kLock, P(kA, X, 50, 149), kOk,
   {P(kA, X, 0, 149)}},
  {"MergeLeavesOthersAlone", {P(kA, S, 0, 9), P(kB, S, 10, 19)}, kLock,
   P(kA, S, 10, 19), kOk, {P(kA, S, 0, 19), P(kB, S, 10, 19)}},
}), RowName);

INSTANTIATE_TEST_SUITE_P(PosixUnlock, LockTableTest, Rows({
  {"Nothing", {}, kUnlock, P(kA, X, 0, 9), kOk, {}},
  {"Exact", {P(kA, S, 10, 19)}, kUnlock, P(kA, S, 10, 19), kOk, {}},
  {"MiddleSplits", {P(kA, X, 10, 29)}, kUnlock, P(kA, X, 15, 19), kOk,
   {P(kA, X, 10, 14), P(kA, X, 20, 29)}},
  {"LeftPart", {P(kA, X, 10, 19)}, kUnlock, P(kA, X, 5, 14), kOk,
   {P(kA, X, 15, 19)}},
  {"RightPart", {P(kA, X, 10, 19)}, kUnlock, P(kA, X, 15, 24), kOk,
   {P(kA, X, 10, 14)}},
  {"Superset", {P(kA, X, 10, 19)}, kUnlock, P(kA, X, 0, 99), kOk, {}},
  {"SpansSeveral", {P(kA, S, 0, 4), P(kA, X, 10, 14), P(kA, S, 20, 24)},
   kUnlock, P(kA, X, 3, 21), kOk, {P(kA, S, 0, 2), P(kA, S, 22, 24)}},
  {"AdjacentLeavesIt", {P(kA, X, 10, 19)}, kUnlock, P(kA, X, 20, 29), kOk,
   {P(kA, X, 10, 19)}},
  {"TailToEof", {P(kA, X, 0, kEof)}, kUnlock, P(kA, X, 100, kEof), kOk,
   {P(kA, X, 0, 99)}},
  {"MiddleOfEof", {P(kA, X, 0, kEof)}, kUnlock, P(kA, X, 10, 19), kOk,
   {P(kA, X, 0, 9), P(kA, X, 20, kEof)}},
  {"LastByte", {P(kA, X, 0, kEof)}, kUnlock, P(kA, X, kMax, kMax), kOk,
   {P(kA, X, 0, kMax - 1)}},
  {"FirstByte", {P(kA, S, 0, 9)}, kUnlock, P(kA, S, 0, 0), kOk,
   {P(kA, S, 1, 9)}},
  {"WholeFile", {P(kA, S, 0, 4), P(kA, X, 50, kEof)}, kUnlock,
   P(kA, X, 0, kEof), kOk, {}},
  {"OnlyOwnLocks", {P(kA, S, 0, 9), P(kB, S, 0, 9)}, kUnlock, P(kA, S, 0, 9),
   kOk, {P(kB, S, 0, 9)}},
  {"OtherOwnerNoop", {P(kA, X, 0, 9)}, kUnlock, P(kB, X, 0, 9), kOk,
   {P(kA, X, 0, 9)}},
}), RowName);

// Different owners: the one conflict rule.
INSTANTIATE_TEST_SUITE_P(PosixOwners, LockTableTest, Rows({
  {"ExclusiveBlocksShared", {P(kA, X, 10, 19)}, kLock, P(kB, S, 15, 24), kNo,
   {P(kA, X, 10, 19)}, P(kA, X, 10, 19)},
  {"SharedBlocksExclusive", {P(kA, S, 10, 19)}, kLock, P(kB, X, 0, 10), kNo,
   {P(kA, S, 10, 19)}, P(kA, S, 10, 19)},
  {"SharedWithShared", {P(kA, S, 10, 19)}, kLock, P(kB, S, 15, 24), kOk,
   {P(kA, S, 10, 19), P(kB, S, 15, 24)}},
  {"AdjacentExclusives", {P(kA, X, 10, 19)}, kLock, P(kB, X, 20, 29), kOk,
   {P(kA, X, 10, 19), P(kB, X, 20, 29)}},
  {"LastByteOfEofLock", {P(kA, X, 10, kEof)}, kLock, P(kB, S, kMax, kMax), kNo,
   {P(kA, X, 10, kEof)}, P(kA, X, 10, kEof)},
  {"OtherOpenIsOtherOwner", {P(kA, S, 0, 9)}, kLock, P(kAOpen5, X, 5, 5), kNo,
   {P(kA, S, 0, 9)}, P(kA, S, 0, 9)},
  {"OtherProtocolIsOtherOwner", {P(kA, X, 0, 9)}, kLock, P(kNlmA, S, 0, 0),
   kNo, {P(kA, X, 0, 9)}, P(kA, X, 0, 9)},
  {"OtherHostIsOtherOwner", {P(kN1, X, 0, 9)}, kLock, P(kN2, X, 9, 20), kNo,
   {P(kN1, X, 0, 9)}, P(kN1, X, 0, 9)},
  {"ConflictChangesNothing", {P(kA, S, 0, 9), P(kB, S, 20, 29)}, kLock,
   P(kA, X, 0, 29), kNo, {P(kA, S, 0, 9), P(kB, S, 20, 29)},
   P(kB, S, 20, 29)},
  {"TestConflict", {P(kA, X, 10, 19)}, kTest, P(kB, S, 0, 10), kNo,
   {P(kA, X, 10, 19)}, P(kA, X, 10, 19)},
  {"TestGrantedTakesNothing", {P(kA, S, 10, 19)}, kTest, P(kB, S, 0, 10), kOk,
   {P(kA, S, 10, 19)}},
  {"TestOwnLocksNeverConflict", {P(kA, X, 10, 19)}, kTest, P(kA, X, 0, 99),
   kOk, {P(kA, X, 10, 19)}},
}), RowName);

// flock: whole file, one lock per open, Linux conversion.
INSTANTIATE_TEST_SUITE_P(Flock, LockTableTest, Rows({
  {"SharedShared", {Fl(kF1, S)}, kLock, Fl(kF2, S), kOk,
   {Fl(kF1, S), Fl(kF2, S)}},
  {"SharedThenExclusive", {Fl(kF1, S)}, kLock, Fl(kF2, X), kNo, {Fl(kF1, S)},
   Fl(kF1, S)},
  {"ExclusiveThenShared", {Fl(kF1, X)}, kLock, Fl(kF2, S), kNo, {Fl(kF1, X)},
   Fl(kF1, X)},
  {"Upgrade", {Fl(kF1, S)}, kLock, Fl(kF1, X), kOk, {Fl(kF1, X)}},
  {"Downgrade", {Fl(kF1, X)}, kLock, Fl(kF1, S), kOk, {Fl(kF1, S)}},
  {"Repeat", {Fl(kF1, S)}, kLock, Fl(kF1, S), kOk, {Fl(kF1, S)}},
  // Linux drops the old lock before trying the new one.
  {"FailedUpgradeLosesOldLock", {Fl(kF1, S), Fl(kF2, S)}, kLock, Fl(kF1, X),
   kNo, {Fl(kF2, S)}, Fl(kF2, S)},
  {"Unlock", {Fl(kF1, X)}, kUnlock, Fl(kF1, X), kOk, {}},
  {"UnlockNothing", {Fl(kF2, S)}, kUnlock, Fl(kF1, S), kOk, {Fl(kF2, S)}},
  {"TestConflict", {Fl(kF1, S)}, kTest, Fl(kF2, X), kNo, {Fl(kF1, S)},
   Fl(kF1, S)},
}), RowName);

// Windows: stacking, exact unlock, zero-byte locks (Samba brl_conflict).
INSTANTIATE_TEST_SUITE_P(Windows, LockTableTest, Rows({
  {"IdenticalSharedStack", {W(kW1, S, 0, 9)}, kLock, W(kW1, S, 0, 9), kOk,
   {W(kW1, S, 0, 9), W(kW1, S, 0, 9)}},
  {"AdjacentNeverMerge", {W(kW1, S, 0, 9)}, kLock, W(kW1, S, 10, 19), kOk,
   {W(kW1, S, 0, 9), W(kW1, S, 10, 19)}},
  {"OverlapSharedNeverMerge", {W(kW1, S, 0, 9)}, kLock, W(kW1, S, 5, 14), kOk,
   {W(kW1, S, 0, 9), W(kW1, S, 5, 14)}},
  {"SharedOnOwnExclusive", {W(kW1, X, 0, 9)}, kLock, W(kW1, S, 0, 9), kOk,
   {W(kW1, X, 0, 9), W(kW1, S, 0, 9)}},
  {"SharedOnOwnExclusivePartly", {W(kW1, X, 0, 9)}, kLock, W(kW1, S, 5, 14),
   kOk, {W(kW1, X, 0, 9), W(kW1, S, 5, 14)}},
  {"ExclusiveOnOwnShared", {W(kW1, S, 0, 9)}, kLock, W(kW1, X, 0, 9), kNo,
   {W(kW1, S, 0, 9)}, W(kW1, S, 0, 9)},
  {"ExclusiveOnOwnExclusive", {W(kW1, X, 0, 9)}, kLock, W(kW1, X, 5, 14), kNo,
   {W(kW1, X, 0, 9)}, W(kW1, X, 0, 9)},
  {"OwnZeroInsideOwnExclusive", {W(kW1, X, 0, 9)}, kLock, Z(kW1, X, 5), kNo,
   {W(kW1, X, 0, 9)}, W(kW1, X, 0, 9)},
  {"OwnSharedZeroOnOwnExclusive", {W(kW1, X, 0, 9)}, kLock, Z(kW1, S, 5), kOk,
   {W(kW1, X, 0, 9), Z(kW1, S, 5)}},
  {"TestOwnExclusiveOverShared", {W(kW1, S, 0, 9)}, kTest, W(kW1, X, 9, 9),
   kNo, {W(kW1, S, 0, 9)}, W(kW1, S, 0, 9)},
  {"OwnExclusivesDisjoint", {W(kW1, X, 0, 9)}, kLock, W(kW1, X, 10, 19), kOk,
   {W(kW1, X, 0, 9), W(kW1, X, 10, 19)}},
  {"OtherOpenShared", {W(kW1, S, 0, 9)}, kLock, W(kW2, S, 0, 9), kOk,
   {W(kW1, S, 0, 9), W(kW2, S, 0, 9)}},
  {"OtherOpenSharedOnExclusive", {W(kW1, X, 0, 9)}, kLock, W(kW2, S, 9, 9),
   kNo, {W(kW1, X, 0, 9)}, W(kW1, X, 0, 9)},
  {"OtherOpenExclusiveOnShared", {W(kW1, S, 0, 9)}, kLock, W(kW2, X, 9, 19),
   kNo, {W(kW1, S, 0, 9)}, W(kW1, S, 0, 9)},
  {"OtherOpenAdjacent", {W(kW1, X, 0, 9)}, kLock, W(kW2, X, 10, 19), kOk,
   {W(kW1, X, 0, 9), W(kW2, X, 10, 19)}},
  {"ZeroInsideConflicts", {W(kW1, X, 0, 9)}, kLock, Z(kW2, X, 5), kNo,
   {W(kW1, X, 0, 9)}, W(kW1, X, 0, 9)},
  {"ZeroAtLastByteConflicts", {W(kW1, X, 0, 9)}, kLock, Z(kW2, S, 9), kNo,
   {W(kW1, X, 0, 9)}, W(kW1, X, 0, 9)},
  {"ZeroAtStartIsFree", {W(kW1, X, 0, 9)}, kLock, Z(kW2, X, 0), kOk,
   {W(kW1, X, 0, 9), Z(kW2, X, 0)}},
  {"ZeroAfterEndIsFree", {W(kW1, X, 0, 9)}, kLock, Z(kW2, X, 10), kOk,
   {W(kW1, X, 0, 9), Z(kW2, X, 10)}},
  {"TwoZerosSameOffset", {Z(kW1, X, 5)}, kLock, Z(kW2, X, 5), kOk,
   {Z(kW1, X, 5), Z(kW2, X, 5)}},
  {"RangeOverHeldZero", {Z(kW1, X, 5)}, kLock, W(kW2, X, 0, 9), kNo,
   {Z(kW1, X, 5)}, Z(kW1, X, 5)},
  {"RangeStartingAtHeldZero", {Z(kW1, X, 5)}, kLock, W(kW2, X, 5, 9), kOk,
   {Z(kW1, X, 5), W(kW2, X, 5, 9)}},
  {"ZeroInsideEofLock", {W(kW1, S, 100, kEof)}, kLock, Z(kW2, X, kMax), kNo,
   {W(kW1, S, 100, kEof)}, W(kW1, S, 100, kEof)},
  {"UnlockExact", {W(kW1, X, 0, 9)}, kUnlock, W(kW1, X, 0, 9), kOk, {}},
  {"UnlockOneOfTwoIdentical", {W(kW1, S, 0, 9), W(kW1, S, 0, 9)}, kUnlock,
   W(kW1, S, 0, 9), kOk, {W(kW1, S, 0, 9)}},
  {"UnlockPartNotFound", {W(kW1, X, 0, 9)}, kUnlock, W(kW1, X, 0, 4), kGone,
   {W(kW1, X, 0, 9)}},
  {"UnlockSupersetNotFound", {W(kW1, X, 0, 9)}, kUnlock, W(kW1, X, 0, 19),
   kGone, {W(kW1, X, 0, 9)}},
  {"UnlockOtherOpensNotFound", {W(kW1, X, 0, 9)}, kUnlock, W(kW2, X, 0, 9),
   kGone, {W(kW1, X, 0, 9)}},
  {"UnlockNothingNotFound", {}, kUnlock, W(kW1, X, 0, 9), kGone, {}},
  {"UnlockZeroNeedsZero", {Z(kW1, X, 5)}, kUnlock, W(kW1, X, 5, 5), kGone,
   {Z(kW1, X, 5)}},
  {"UnlockByteNeedsByte", {W(kW1, X, 5, 5)}, kUnlock, Z(kW1, X, 5), kGone,
   {W(kW1, X, 5, 5)}},
  {"UnlockZero", {Z(kW1, X, 5), W(kW1, X, 5, 5)}, kUnlock, Z(kW1, X, 5), kOk,
   {W(kW1, X, 5, 5)}},
}), RowName);

// One table across flavours: local flock and local POSIX are independent;
// both meet every remote lock.
INSTANTIATE_TEST_SUITE_P(CrossFlavor, LockTableTest, Rows({
  {"LocalFlockIgnoresLocalPosix", {Fl(kF1, X)}, kLock, P(kA, X, 0, 9), kOk,
   {Fl(kF1, X), P(kA, X, 0, 9)}},
  {"LocalPosixIgnoresLocalFlock", {P(kA, X, 0, kEof)}, kLock, Fl(kF1, X), kOk,
   {P(kA, X, 0, kEof), Fl(kF1, X)}},
  {"LocalFlockBlocksNlm", {Fl(kF1, S)}, kLock, P(kN1, X, 0, 9), kNo,
   {Fl(kF1, S)}, Fl(kF1, S)},
  {"LocalFlockSharesWithNlm", {Fl(kF1, S)}, kLock, P(kN1, S, 0, 9), kOk,
   {Fl(kF1, S), P(kN1, S, 0, 9)}},
  {"NlmBlocksLocalFlock", {P(kN1, S, 100, 109)}, kLock, Fl(kF1, X), kNo,
   {P(kN1, S, 100, 109)}, P(kN1, S, 100, 109)},
  {"SmbBlocksLocalFlock", {W(kW1, X, 0, 9)}, kLock, Fl(kF1, S), kNo,
   {W(kW1, X, 0, 9)}, W(kW1, X, 0, 9)},
  {"LocalFlockBlocksSmbAnywhere", {Fl(kF1, X)}, kLock, W(kW1, S, 1000, 1999),
   kNo, {Fl(kF1, X)}, Fl(kF1, X)},
  {"LocalFlockBlocksSmbZero", {Fl(kF1, X)}, kLock, Z(kW1, S, 1000), kNo,
   {Fl(kF1, X)}, Fl(kF1, X)},
  {"LocalPosixBlocksSmb", {P(kA, X, 0, 9)}, kLock, W(kW1, S, 5, 5), kNo,
   {P(kA, X, 0, 9)}, P(kA, X, 0, 9)},
  {"SmbBlocksLocalPosix", {W(kW1, S, 0, 9)}, kLock, P(kA, X, 9, 9), kNo,
   {W(kW1, S, 0, 9)}, W(kW1, S, 0, 9)},
  {"LocalPosixSharesWithSmb", {P(kA, S, 0, 9)}, kLock, W(kW1, S, 0, 9), kOk,
   {P(kA, S, 0, 9), W(kW1, S, 0, 9)}},
  {"NlmAndSmbDisjoint", {P(kN1, X, 0, 9)}, kLock, W(kW1, X, 10, 19), kOk,
   {P(kN1, X, 0, 9), W(kW1, X, 10, 19)}},
  {"NlmBlocksLocalPosix", {P(kN1, S, 0, 9)}, kLock, P(kA, X, 5, 14), kNo,
   {P(kN1, S, 0, 9)}, P(kN1, S, 0, 9)},
  {"SmbZeroInsidePosix", {P(kA, X, 0, 9)}, kLock, Z(kW1, X, 5), kNo,
   {P(kA, X, 0, 9)}, P(kA, X, 0, 9)},
  {"SmbZeroAtPosixStart", {P(kA, X, 5, 9)}, kLock, Z(kW1, X, 5), kOk,
   {P(kA, X, 5, 9), Z(kW1, X, 5)}},
  {"LocalFlocksConflict", {Fl(kF1, X)}, kLock, Fl(kF2, X), kNo, {Fl(kF1, X)},
   Fl(kF1, X)},
  {"TestLocalFlockVsLocalPosix", {P(kA, X, 0, 9)}, kTest, Fl(kF1, X), kOk,
   {P(kA, X, 0, 9)}},
  {"TestSmbVsLocalFlock", {Fl(kF1, S)}, kTest, W(kW2, X, 0, 0), kNo,
   {Fl(kF1, S)}, Fl(kF1, S)},
}), RowName);
// clang-format on

// Range conversion at the protocol edges and the overlap rule.
TEST(RangeTest, FromPosix) {
  EXPECT_EQ(Range::FromPosix(10, 0), (Range{10, kEof, false}));
  EXPECT_EQ(Range::FromPosix(10, 5), (Range{10, 14, false}));
  EXPECT_EQ(Range::FromPosix(0, 1), (Range{0, 0, false}));
  EXPECT_EQ(Range::FromPosix(0, kMax), (Range{0, kMax - 1, false}));
  EXPECT_EQ(Range::FromPosix(kMax, 0), (Range{kMax, kEof, false}));
  EXPECT_EQ(Range::FromPosix(kMax, 2), std::nullopt);
  EXPECT_EQ(Range::FromPosix(2, kMax), std::nullopt);
  EXPECT_EQ(Range::FromPosix(kMax, kMax), std::nullopt);
}

TEST(RangeTest, FromSmb) {
  EXPECT_EQ(Range::FromSmb(5, 0), (Range{5, 5, true}));
  EXPECT_EQ(Range::FromSmb(0, 10), (Range{0, 9, false}));
  EXPECT_EQ(Range::FromSmb(kMax, 0), (Range{kMax, kMax, true}));
  // offset + length == 2^64 still fits: the last byte is UINT64_MAX.
  EXPECT_EQ(Range::FromSmb(kMax, 1), (Range{kMax, kMax, false}));
  EXPECT_EQ(Range::FromSmb(1, kMax), (Range{1, kMax, false}));
  EXPECT_EQ(Range::FromSmb(0, kMax), (Range{0, kMax - 1, false}));
  EXPECT_EQ(Range::FromSmb(kMax, 2), std::nullopt);
  EXPECT_EQ(Range::FromSmb(2, kMax), std::nullopt);
  EXPECT_EQ(Range::FromSmb(kMax, kMax), std::nullopt);
}

TEST(RangeTest, PosixLength) {
  EXPECT_EQ((Range{10, kEof}).PosixLength(), 0u);
  EXPECT_EQ((Range{10, 14}).PosixLength(), 5u);
  EXPECT_EQ((Range{0, 0}).PosixLength(), 1u);
  EXPECT_EQ((Range{0, kMax - 1}).PosixLength(), kMax);
  EXPECT_EQ(Range::All().PosixLength(), 0u);
}

TEST(RangeTest, Overlaps) {
  struct Row {
    Range a, b;
    bool want;
  };
  const Row rows[] = {
      {{0, 9}, {9, 20}, true},
      {{0, 9}, {10, 20}, false},
      {{0, 9}, {0, 9}, true},
      {{5, 5}, {0, kEof}, true},
      {{kMax, kMax}, {0, kEof}, true},
      {{0, 0}, {1, kEof}, false},
      {{5, 5, true}, {0, 9}, true},   // a < X <= b
      {{0, 0, true}, {0, 9}, false},  // X == a
      {{9, 9, true}, {0, 9}, true},   // X == b
      {{10, 10, true}, {0, 9}, false},
      {{5, 5, true}, {5, 5, true}, false},  // two zero-byte locks never
      {{5, 5, true}, {5, 5}, false},
      {{5, 5, true}, {4, 5}, true},
      {{0, 0, true}, Range::All(), false},
      {{1, 1, true}, Range::All(), true},
      {{kMax, kMax, true}, Range::All(), true},
  };
  for (const Row& r : rows) {
    SCOPED_TRACE(::testing::Message()
                 << "[" << r.a.first << "," << r.a.last << "]"
                 << (r.a.zero_length ? "z" : "") << " vs [" << r.b.first << ","
                 << r.b.last << "]" << (r.b.zero_length ? "z" : ""));
    EXPECT_EQ(Overlaps(r.a, r.b), r.want);
    EXPECT_EQ(Overlaps(r.b, r.a), r.want);
  }
}

TEST(OwnerTest, IdentityIsAllFourFields) {
  for (int a = 0; a < kWhoCount; ++a) {
    for (int b = 0; b < kWhoCount; ++b) {
      EXPECT_EQ(OwnerOf(static_cast<Who>(a)) == OwnerOf(static_cast<Who>(b)),
                a == b);
    }
  }
  OwnerHash h;
  EXPECT_EQ(h(OwnerOf(kA)), h(Owner{Protocol::kLocal, 0, "A", 0}));
  EXPECT_FALSE(OwnerOf(kN1).ToString().empty());
}

}  // namespace
}  // namespace concordfs::locking
