// IntervalIndex<T>: fixed cases at the edges of the 64-bit space, then a
// long randomized run checked step by step against a brute-force vector.
#include "locking/interval_index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <vector>

namespace concordfs::locking {
namespace {

constexpr uint64_t kMax = UINT64_MAX;

struct Entry {
  uint64_t first, last, id;
  bool operator==(const Entry&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Entry& e) {
  return os << "{" << e.first << "," << e.last << ",#" << e.id << "}";
}

template <typename T>
std::vector<Entry> QueryAll(IntervalIndex<T>& idx, uint64_t first,
                            uint64_t last) {
  std::vector<Entry> out;
  idx.Query(first, last, [&](uint64_t f, uint64_t l, uint64_t id, T&) {
    out.push_back({f, l, id});
    return true;
  });
  return out;
}

// The brute-force reference: every entry intersecting [first, last], in
// (first, id) order.
std::vector<Entry> Reference(const std::vector<Entry>& all, uint64_t first,
                             uint64_t last) {
  std::vector<Entry> out;
  for (const Entry& e : all) {
    if (e.first <= last && e.last >= first) out.push_back(e);
  }
  std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) {
    return std::tie(a.first, a.id) < std::tie(b.first, b.id);
  });
  return out;
}

TEST(IntervalIndexTest, EmptyIndex) {
  IntervalIndex<int> idx;
  EXPECT_TRUE(idx.empty());
  EXPECT_EQ(idx.size(), 0u);
  EXPECT_TRUE(QueryAll(idx, 0, kMax).empty());
  EXPECT_FALSE(idx.Erase(0, 1));
  EXPECT_EQ(idx.Find(0, 1), nullptr);
}

TEST(IntervalIndexTest, InclusiveBoundsAndEdges) {
  IntervalIndex<int> idx;
  idx.Insert(10, 19, 1, 100);
  idx.Insert(0, kMax, 2, 200);
  idx.Insert(kMax, kMax, 3, 300);
  idx.Insert(0, 0, 4, 400);
  idx.Insert(20, kMax, 5, 500);
  EXPECT_EQ(idx.size(), 5u);

  EXPECT_EQ(QueryAll(idx, 19, 19),
            (std::vector<Entry>{{0, kMax, 2}, {10, 19, 1}}));
  EXPECT_EQ(QueryAll(idx, 20, 20),
            (std::vector<Entry>{{0, kMax, 2}, {20, kMax, 5}}));
  EXPECT_EQ(QueryAll(idx, kMax, kMax),
            (std::vector<Entry>{{0, kMax, 2}, {20, kMax, 5}, {kMax, kMax, 3}}));
  EXPECT_EQ(QueryAll(idx, 0, 0), (std::vector<Entry>{{0, kMax, 2}, {0, 0, 4}}));
  EXPECT_EQ(QueryAll(idx, 1, 9), (std::vector<Entry>{{0, kMax, 2}}));

  ASSERT_NE(idx.Find(kMax, 3), nullptr);
  EXPECT_EQ(*idx.Find(kMax, 3), 300);
  EXPECT_EQ(idx.Find(kMax, 2), nullptr);  // the id is there, not at kMax

  EXPECT_FALSE(idx.Erase(10, 2));  // wrong start for id 2
  EXPECT_TRUE(idx.Erase(0, 2));
  EXPECT_FALSE(idx.Erase(0, 2));
  EXPECT_EQ(idx.size(), 4u);
  EXPECT_EQ(QueryAll(idx, 1, 9), (std::vector<Entry>{}));
}

TEST(IntervalIndexTest, SameStartOrderedById) {
  IntervalIndex<int> idx;
  for (uint64_t id : {7, 3, 9, 1}) idx.Insert(5, 5 + id, id, 0);
  EXPECT_EQ(QueryAll(idx, 0, kMax),
            (std::vector<Entry>{{5, 6, 1}, {5, 8, 3}, {5, 12, 7}, {5, 14, 9}}));
  EXPECT_EQ(QueryAll(idx, 13, 13), (std::vector<Entry>{{5, 14, 9}}));
}

TEST(IntervalIndexTest, QueryStopsEarly) {
  IntervalIndex<int> idx;
  for (uint64_t i = 0; i < 10; ++i) idx.Insert(i * 10, i * 10 + 5, i + 1, 0);
  std::vector<uint64_t> seen;
  bool complete =
      idx.Query(0, kMax, [&](uint64_t, uint64_t, uint64_t id, int&) {
        seen.push_back(id);
        return seen.size() < 3;
      });
  EXPECT_FALSE(complete);
  EXPECT_EQ(seen, (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_TRUE(idx.Query(
      0, kMax, [](uint64_t, uint64_t, uint64_t, int&) { return true; }));
}

TEST(IntervalIndexTest, ValuesAreMutableInPlaceAndMoveOnlyWorks) {
  IntervalIndex<std::unique_ptr<std::string>> idx;
  idx.Insert(1, 2, 1, std::make_unique<std::string>("a"));
  idx.Insert(3, 4, 2, std::make_unique<std::string>("b"));
  idx.Query(0, kMax,
            [](uint64_t, uint64_t, uint64_t, std::unique_ptr<std::string>& v) {
              *v += "!";
              return true;
            });
  std::vector<std::string> values;
  idx.ForEach([&](uint64_t, uint64_t, uint64_t,
                  std::unique_ptr<std::string>& v) { values.push_back(*v); });
  EXPECT_EQ(values, (std::vector<std::string>{"a!", "b!"}));
  ASSERT_NE(idx.Find(3, 2), nullptr);
  EXPECT_EQ(**idx.Find(3, 2), "b!");
}

TEST(IntervalIndexTest, SortedInsertionStaysUsable) {
  // Ascending starts and ids: a plain BST would degrade to a list (and the
  // recursive paths would get deep); the treap must stay shallow.
  IntervalIndex<int> idx;
  constexpr uint64_t kN = 100000;
  for (uint64_t i = 0; i < kN; ++i) idx.Insert(i * 2, i * 2, i, 0);
  EXPECT_EQ(idx.size(), kN);
  EXPECT_EQ(QueryAll(idx, 1001, 1003), (std::vector<Entry>{{1002, 1002, 501}}));
  for (uint64_t i = 0; i < kN; i += 2) ASSERT_TRUE(idx.Erase(i * 2, i));
  EXPECT_EQ(idx.size(), kN / 2);
  EXPECT_EQ(QueryAll(idx, 1000, 1004), (std::vector<Entry>{{1002, 1002, 501}}));
}

// Draws a boundary biased towards collisions and the ends of the space.
uint64_t DrawPoint(std::mt19937_64& rng) {
  switch (rng() % 8) {
    case 0:
      return 0;
    case 1:
      return kMax;
    case 2:
      return kMax - rng() % 16;
    case 3:
      return rng();
    default:
      return rng() % 256;
  }
}

std::pair<uint64_t, uint64_t> DrawRange(std::mt19937_64& rng) {
  uint64_t a = DrawPoint(rng);
  uint64_t b = DrawPoint(rng);
  if (rng() % 4 == 0) b = a;     // single byte
  if (rng() % 8 == 0) b = kMax;  // to EOF
  if (a > b) std::swap(a, b);
  return {a, b};
}

TEST(IntervalIndexTest, RandomizedAgainstBruteForce) {
  std::mt19937_64 rng(20240601);
  IntervalIndex<uint64_t> idx;
  std::vector<Entry> all;
  uint64_t next_id = 1;
  constexpr int kOps = 20000;
  for (int op = 0; op < kOps; ++op) {
    SCOPED_TRACE("op " + std::to_string(op));
    uint64_t dice = rng() % 100;
    // Keep the population in a band so erases and queries meet real data.
    if (all.size() > 600) dice = 50;
    if (dice < 40) {
      auto [f, l] = DrawRange(rng);
      // Ids are unique but not monotonic in start order.
      uint64_t id = next_id++ * 0x9e3779b97f4a7c15ULL;  // a bijection
      idx.Insert(f, l, id, id ^ f);
      all.push_back({f, l, id});
    } else if (dice < 65) {
      if (!all.empty() && rng() % 5 != 0) {
        size_t i = rng() % all.size();
        ASSERT_TRUE(idx.Erase(all[i].first, all[i].id)) << all[i];
        all[i] = all.back();
        all.pop_back();
      } else {
        // An absent key: a fresh id, or a present id at the wrong start.
        uint64_t f = DrawPoint(rng);
        uint64_t id = all.empty() || rng() % 2 ? (1ULL << 60) + op : all[0].id;
        bool present = std::any_of(all.begin(), all.end(), [&](const Entry& e) {
          return e.first == f && e.id == id;
        });
        ASSERT_EQ(idx.Erase(f, id), present);
        if (present) {
          all.erase(std::find_if(all.begin(), all.end(), [&](const Entry& e) {
            return e.first == f && e.id == id;
          }));
        }
      }
    } else if (dice < 95) {
      auto [f, l] = DrawRange(rng);
      std::vector<Entry> got;
      idx.Query(f, l, [&](uint64_t ef, uint64_t el, uint64_t id, uint64_t& v) {
        EXPECT_EQ(v, id ^ ef);
        got.push_back({ef, el, id});
        return true;
      });
      ASSERT_EQ(got, Reference(all, f, l)) << "query [" << f << "," << l << "]";
    } else {
      if (all.empty()) continue;
      const Entry& e = all[rng() % all.size()];
      uint64_t* v = idx.Find(e.first, e.id);
      ASSERT_NE(v, nullptr) << e;
      EXPECT_EQ(*v, e.id ^ e.first);
    }
    ASSERT_EQ(idx.size(), all.size());
    ASSERT_EQ(idx.empty(), all.empty());
  }
  // Final full scan in start order.
  std::vector<Entry> everything;
  idx.ForEach([&](uint64_t f, uint64_t l, uint64_t id, uint64_t&) {
    everything.push_back({f, l, id});
  });
  EXPECT_EQ(everything, Reference(all, 0, kMax));
}

}  // namespace
}  // namespace concordfs::locking
