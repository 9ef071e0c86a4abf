// IntervalIndex<T>: the locks of one file, ordered by start, answering "which
// entries intersect [first, last]" in O(log n + k).
//
// A treap keyed by (first, id) where every node also records the largest
// `last` in its subtree, so a query skips subtrees that end before the
// range. Ids are unique per index (the caller's lock ids). Deterministic
// priorities (a hash of the id) keep the tree balanced in expectation
// without a random generator. Not thread-safe: guarded by the owner's mutex.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <utility>

namespace concordfs::locking {

template <typename T>
class IntervalIndex {
 public:
  // Adds `value` covering [first, last] under the unique `id`.
  void Insert(uint64_t first, uint64_t last, uint64_t id, T value) {
    auto n = std::make_unique<Node>(first, last, id, std::move(value));
    root_ = InsertNode(std::move(root_), std::move(n));
    ++size_;
  }

  // Removes the entry (first, id); returns false if absent.
  bool Erase(uint64_t first, uint64_t id) {
    bool found = false;
    root_ = EraseNode(std::move(root_), first, id, &found);
    if (found) --size_;
    return found;
  }

  // The entry (first, id), or nullptr.
  T* Find(uint64_t first, uint64_t id) {
    Node* n = root_.get();
    while (n) {
      if (n->first == first && n->id == id) return &n->value;
      n = Less(first, id, n->first, n->id) ? n->left.get() : n->right.get();
    }
    return nullptr;
  }

  // Calls fn(first, last, id, T&) for every entry intersecting [first,last]
  // in start order; stops early when fn returns false.
  template <typename Fn>
  bool Query(uint64_t first, uint64_t last, Fn&& fn) {
    return QueryNode(root_.get(), first, last, fn);
  }

  // Every entry, in start order.
  template <typename Fn>
  void ForEach(Fn&& fn) {
    Query(0, UINT64_MAX, [&](uint64_t f, uint64_t l, uint64_t id, T& v) {
      fn(f, l, id, v);
      return true;
    });
  }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  struct Node {
    Node(uint64_t f, uint64_t l, uint64_t i, T v)
        : first(f),
          last(l),
          id(i),
          max_last(l),
          prio(Hash(i)),
          value(std::move(v)) {}
    uint64_t first, last, id, max_last, prio;
    T value;
    std::unique_ptr<Node> left, right;
  };
  using Ptr = std::unique_ptr<Node>;

  static uint64_t Hash(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    return x ^ (x >> 33);
  }
  static bool Less(uint64_t f1, uint64_t id1, uint64_t f2, uint64_t id2) {
    return f1 < f2 || (f1 == f2 && id1 < id2);
  }
  static void Update(Node* n) {
    n->max_last = n->last;
    if (n->left) n->max_last = std::max(n->max_last, n->left->max_last);
    if (n->right) n->max_last = std::max(n->max_last, n->right->max_last);
  }
  static Ptr RotateRight(Ptr n) {
    Ptr l = std::move(n->left);
    n->left = std::move(l->right);
    Update(n.get());
    l->right = std::move(n);
    Update(l.get());
    return l;
  }
  static Ptr RotateLeft(Ptr n) {
    Ptr r = std::move(n->right);
    n->right = std::move(r->left);
    Update(n.get());
    r->left = std::move(n);
    Update(r.get());
    return r;
  }
  static Ptr InsertNode(Ptr t, Ptr n) {
    if (!t) return n;
    if (Less(n->first, n->id, t->first, t->id)) {
      t->left = InsertNode(std::move(t->left), std::move(n));
      if (t->left->prio > t->prio) t = RotateRight(std::move(t));
    } else {
      t->right = InsertNode(std::move(t->right), std::move(n));
      if (t->right->prio > t->prio) t = RotateLeft(std::move(t));
    }
    Update(t.get());
    return t;
  }
  static Ptr Merge(Ptr a, Ptr b) {  // all of a before all of b
    if (!a) return b;
    if (!b) return a;
    if (a->prio > b->prio) {
      a->right = Merge(std::move(a->right), std::move(b));
      Update(a.get());
      return a;
    }
    b->left = Merge(std::move(a), std::move(b->left));
    Update(b.get());
    return b;
  }
  static Ptr EraseNode(Ptr t, uint64_t first, uint64_t id, bool* found) {
    if (!t) return t;
    if (t->first == first && t->id == id) {
      *found = true;
      return Merge(std::move(t->left), std::move(t->right));
    }
    if (Less(first, id, t->first, t->id)) {
      t->left = EraseNode(std::move(t->left), first, id, found);
    } else {
      t->right = EraseNode(std::move(t->right), first, id, found);
    }
    Update(t.get());
    return t;
  }
  template <typename Fn>
  static bool QueryNode(Node* n, uint64_t first, uint64_t last, Fn& fn) {
    if (!n || n->max_last < first) return true;
    if (!QueryNode(n->left.get(), first, last, fn)) return false;
    if (n->first > last) return true;  // this and everything right start later
    if (n->last >= first && !fn(n->first, n->last, n->id, n->value)) {
      return false;
    }
    return QueryNode(n->right.get(), first, last, fn);
  }

  Ptr root_;
  size_t size_ = 0;
};

}  // namespace concordfs::locking
