#include "metadata/fsck.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <sstream>
#include <unordered_map>
#include <utility>

#include "metadata/keys.h"
#include "util/coding.h"
#include "util/log.h"

namespace concordfs {
namespace {

// The superblock layout written by MetadataStore::Initialize.
constexpr uint8_t kSuperFormat = 1;
constexpr size_t kSummaryProblems = 100;

// Concatenates the textual forms of `args` (problem messages).
template <typename... Args>
std::string Str(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

// 'name' with quotes, non-printable bytes escaped as \xNN.
std::string Quote(std::string_view name) {
  std::string out = "'";
  for (unsigned char c : name) {
    if (c < 0x20 || c >= 0x7f || c == '\'' || c == '\\') {
      char buf[5];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "'";
}

bool ValidName(std::string_view name) {
  return !name.empty() && name.size() <= kMaxNameLength && name != "." &&
         name != ".." && name.find('/') == std::string_view::npos &&
         name.find('\0') == std::string_view::npos;
}

// What the scans learn about one inode.
struct InodeInfo {
  FileType type = FileType::kRegular;
  bool corrupt = false;  // record present but unusable; checks skipped
  bool orphan_key = false;
  bool symlink_key = false;
  uint32_t nlink = 0;
  uint32_t links = 0;     // entries naming this inode
  uint32_t subdirs = 0;   // directory entries inside this directory
  uint64_t children = 0;  // entries inside this directory
  uint64_t next_cookie = 0;
  uint64_t size = 0;
  InodeId parent = kInvalidInode;        // the record's parent field
  InodeId entry_parent = kInvalidInode;  // directory of the first entry
};

Status ReclaimOne(MetadataStore* md, ContentStore* content, InodeId id) {
  return ReclaimInode(md, content, id, /*durable=*/true);
}

}  // namespace

// Drops the content first: a crash before the batch leaves the orphan key,
// so the next start retries (Remove of absent content is OK).
Status ReclaimInode(MetadataStore* md, ContentStore* content, InodeId id,
                    bool durable) {
  if (content != nullptr) CFS_RETURN_IF_ERROR(content->Remove(id));
  std::vector<std::string> xattrs;
  CFS_RETURN_IF_ERROR(md->ListXattrs(id, &xattrs));
  MetadataBatch b;
  b.set_durable(durable);
  for (const std::string& name : xattrs) b.DeleteXattr(id, name);
  b.DeleteSymlink(id);
  b.DeleteInode(id);
  b.RemoveOrphan(id);
  return md->Write(b);
}

namespace {

class Checker {
 public:
  Checker(MetadataStore* md, ContentStore* content, bool repair,
          FsckReport* report)
      : md_(md), content_(content), repair_(repair), report_(report) {}

  Status Run();

 private:
  using ScanFn =
      std::function<Status(std::string_view key, std::string_view value)>;

  void Problem(std::string p) { report_->problems.push_back(std::move(p)); }
  InodeInfo* Find(InodeId id) {
    auto it = inodes_.find(id);
    return it == inodes_.end() ? nullptr : &it->second;
  }
  // Known to be a usable directory record.
  bool IsDir(const InodeInfo* n) const {
    return n != nullptr && !n->corrupt && n->type == FileType::kDirectory;
  }
  Status ScanTag(char tag, const ScanFn& fn);

  Status CheckSuper();
  Status ScanInodes();
  Status AddInode(std::string_view key, std::string_view value);
  void CheckRoot();
  Status ScanEntries();
  Status CheckEntry(InodeId parent, const DirEntry& e);
  Status CheckCookieTwin(InodeId parent, const DirEntry& e);
  Status ScanCookies();
  Status CheckCookie(std::string_view key, std::string_view value);
  Status ScanSymlinks();
  Status ScanXattrs();
  Status ScanOrphans();
  Status ScanContent();
  void CheckLinks();
  void CheckUnreferenced(InodeId id, const InodeInfo& n);
  void CheckReferenced(InodeId id, const InodeInfo& n);
  void CheckParentChains();
  void WalkParents(InodeId start, std::unordered_map<InodeId, uint8_t>* state);
  Status Repair();

  MetadataStore* const md_;
  ContentStore* const content_;
  const bool repair_;
  FsckReport* const report_;
  uint64_t id_limit_ = 0;  // 0: unknown (superblock unusable)
  std::unordered_map<InodeId, InodeInfo> inodes_;
  std::vector<InodeId> reclaimable_;       // orphans safe to reclaim
  std::vector<InodeId> dangling_orphans_;  // repair only
  std::vector<InodeId> leaked_content_;    // repair only
};

Status Checker::Run() {
  CFS_RETURN_IF_ERROR(CheckSuper());
  CFS_RETURN_IF_ERROR(ScanInodes());
  CheckRoot();
  CFS_RETURN_IF_ERROR(ScanEntries());
  CFS_RETURN_IF_ERROR(ScanCookies());
  CFS_RETURN_IF_ERROR(ScanSymlinks());
  CFS_RETURN_IF_ERROR(ScanXattrs());
  CFS_RETURN_IF_ERROR(ScanOrphans());
  CFS_RETURN_IF_ERROR(ScanContent());
  CheckLinks();
  CheckParentChains();
  return repair_ ? Repair() : Status::Ok();
}

Status Checker::ScanTag(char tag, const ScanFn& fn) {
  Status inner;
  std::string prefix = keys::TagPrefix(tag);
  CFS_RETURN_IF_ERROR(md_->Scan(
      prefix, prefix, [&](std::string_view key, std::string_view value) {
        inner = fn(key, value);
        return inner.ok();
      }));
  return inner;
}

Status Checker::CheckSuper() {
  std::string v;
  Status st = md_->Get(keys::Super(), &v);
  if (st.code() == ENOENT) {
    Problem("superblock missing");
    return Status::Ok();
  }
  CFS_RETURN_IF_ERROR(st);
  Decoder d(v);
  uint8_t format = d.U8();
  d.U64();  // filesystem id
  uint64_t limit = d.U64();
  if (!d.done() || format != kSuperFormat) {
    Problem("superblock undecodable");
    return Status::Ok();
  }
  id_limit_ = limit;
  return Status::Ok();
}

Status Checker::ScanInodes() {
  return ScanTag(keys::kInode, [this](std::string_view k, std::string_view v) {
    return AddInode(k, v);
  });
}

Status Checker::AddInode(std::string_view key, std::string_view value) {
  if (key.size() != 9) {
    Problem("malformed inode key of " + std::to_string(key.size()) + " bytes");
    return Status::Ok();
  }
  InodeId id = keys::KeyId(key);
  InodeInfo& info = inodes_[id];
  ++report_->inodes;
  Inode n;
  Status st = DecodeInode(value, &n);
  if (!st.ok()) {
    Problem(Str("inode ", id, " undecodable: ", st.ToString()));
    info.corrupt = true;
    return Status::Ok();
  }
  if (n.id != id) {
    Problem(Str("inode key ", id, " holds the record of inode ", n.id));
    info.corrupt = true;
    return Status::Ok();
  }
  if (id == kInvalidInode) Problem("inode 0 uses the invalid id");
  if (id_limit_ != 0 && id >= id_limit_) {
    Problem(Str("inode ", id, " at or above id high-water mark ", id_limit_));
  }
  info.type = n.type;
  info.nlink = n.nlink;
  info.next_cookie = n.next_cookie;
  info.size = n.size;
  info.parent = n.parent;
  if (n.is_dir()) ++report_->directories;
  return Status::Ok();
}

void Checker::CheckRoot() {
  const InodeInfo* root = Find(kRootInode);
  if (root == nullptr) {
    Problem("root inode 1 missing");
  } else if (root->corrupt) {
    // Already reported.
  } else if (root->type != FileType::kDirectory) {
    Problem("root inode 1 is not a directory");
  } else if (root->parent != kRootInode) {
    Problem(Str("root inode 1 has parent ", root->parent));
  }
}

Status Checker::ScanEntries() {
  return ScanTag(
      keys::kEntry, [this](std::string_view key, std::string_view value) {
        if (key.size() < 9) {
          Problem(Str("malformed entry key of ", key.size(), " bytes"));
          return Status::Ok();
        }
        InodeId parent = keys::KeyId(key);
        DirEntry e;
        e.name = std::string(keys::KeySuffix(key));
        ++report_->entries;
        Status st = DecodeEntryValue(value, &e);
        if (!st.ok()) {
          Problem(Str("entry ", parent, "/", Quote(e.name),
                      " undecodable: ", st.ToString()));
          return Status::Ok();
        }
        return CheckEntry(parent, e);
      });
}

Status Checker::CheckEntry(InodeId parent, const DirEntry& e) {
  std::string what = Str("entry ", parent, "/", Quote(e.name));
  if (!ValidName(e.name)) Problem(what + " has an invalid name");
  InodeInfo* p = Find(parent);
  if (p == nullptr) {
    Problem(what + " in missing directory " + std::to_string(parent));
  } else if (!p->corrupt && p->type != FileType::kDirectory) {
    Problem(Str(what, " in non-directory ", parent, " (", FileTypeName(p->type),
                ")"));
  } else if (!p->corrupt) {
    ++p->children;
    if (e.type == FileType::kDirectory) ++p->subdirs;
    if (e.cookie < kFirstEntryCookie || e.cookie >= p->next_cookie) {
      Problem(Str(what, " cookie ", e.cookie, " out of range [",
                  kFirstEntryCookie, ", ", p->next_cookie, ")"));
    }
  }
  InodeInfo* c = Find(e.child);
  if (c == nullptr) {
    Problem(Str(what, " -> missing inode ", e.child));
  } else {
    if (++c->links == 1) c->entry_parent = parent;
    if (!c->corrupt && c->type != e.type) {
      Problem(Str(what, " type mismatch: entry says ", FileTypeName(e.type),
                  ", inode ", e.child, " is ", FileTypeName(c->type)));
    }
  }
  return CheckCookieTwin(parent, e);
}

Status Checker::CheckCookieTwin(InodeId parent, const DirEntry& e) {
  std::string what = Str("entry ", parent, "/", Quote(e.name));
  std::string v;
  Status st = md_->Get(keys::CookieKey(parent, e.cookie), &v);
  if (st.code() == ENOENT) {
    Problem(Str(what, " missing cookie twin ", e.cookie));
    return Status::Ok();
  }
  CFS_RETURN_IF_ERROR(st);
  DirEntry twin;
  if (!DecodeCookieValue(v, &twin).ok() || twin.child != e.child ||
      twin.type != e.type || twin.name != e.name) {
    Problem(Str(what, " cookie twin ", e.cookie, " mismatch"));
  }
  return Status::Ok();
}

Status Checker::ScanCookies() {
  return ScanTag(keys::kCookie,
                 [this](std::string_view key, std::string_view value) {
                   return CheckCookie(key, value);
                 });
}

Status Checker::CheckCookie(std::string_view key, std::string_view value) {
  if (key.size() != 17) {
    Problem(Str("malformed cookie key of ", key.size(), " bytes"));
    return Status::Ok();
  }
  InodeId parent = keys::KeyId(key);
  uint64_t cookie = LoadU64(keys::KeySuffix(key).data());
  std::string what = Str("cookie ", parent, "#", cookie);
  DirEntry c;
  Status st = DecodeCookieValue(value, &c);
  if (!st.ok()) {
    Problem(Str(what, " undecodable: ", st.ToString()));
    return Status::Ok();
  }
  std::string v;
  st = md_->Get(keys::EntryKey(parent, c.name), &v);
  if (st.code() == ENOENT) {
    Problem(Str("stray ", what, " (", Quote(c.name), " -> ", c.child,
                "): no entry"));
    return Status::Ok();
  }
  CFS_RETURN_IF_ERROR(st);
  DirEntry e;
  if (!DecodeEntryValue(v, &e).ok()) return Status::Ok();  // reported
  if (e.child != c.child || e.type != c.type || e.cookie != cookie) {
    Problem(Str("stray ", what, " (", Quote(c.name), " -> ", c.child,
                "): entry has cookie ", e.cookie, " -> ", e.child));
  }
  return Status::Ok();
}

Status Checker::ScanSymlinks() {
  return ScanTag(
      keys::kSymlink, [this](std::string_view key, std::string_view value) {
        if (key.size() != 9) {
          Problem(Str("malformed symlink key of ", key.size(), " bytes"));
          return Status::Ok();
        }
        InodeId id = keys::KeyId(key);
        InodeInfo* n = Find(id);
        if (n == nullptr) {
          Problem(Str("symlink target of missing inode ", id));
        } else if (n->corrupt) {
          n->symlink_key = true;
        } else if (n->type != FileType::kSymlink) {
          Problem(Str("symlink target of non-symlink inode ", id, " (",
                      FileTypeName(n->type), ")"));
        } else {
          n->symlink_key = true;
          if (n->size != value.size()) {
            Problem(Str("symlink ", id, " size ", n->size,
                        " but target length ", value.size()));
          }
        }
        return Status::Ok();
      });
}

Status Checker::ScanXattrs() {
  return ScanTag(keys::kXattr, [this](std::string_view key, std::string_view) {
    if (key.size() < 10) {
      Problem(Str("malformed xattr key of ", key.size(), " bytes"));
      return Status::Ok();
    }
    InodeId id = keys::KeyId(key);
    if (Find(id) == nullptr) {
      Problem(Str("xattr ", id, "/", Quote(keys::KeySuffix(key)),
                  " of missing inode ", id));
    }
    return Status::Ok();
  });
}

Status Checker::ScanOrphans() {
  return ScanTag(keys::kOrphan, [this](std::string_view key, std::string_view) {
    if (key.size() != 9) {
      Problem(Str("malformed orphan key of ", key.size(), " bytes"));
      return Status::Ok();
    }
    InodeId id = keys::KeyId(key);
    InodeInfo* n = Find(id);
    if (n != nullptr) {
      n->orphan_key = true;
    } else if (repair_) {
      dangling_orphans_.push_back(id);
    } else {
      Problem(Str("dangling orphan key: inode ", id, " missing"));
    }
    return Status::Ok();
  });
}

Status Checker::ScanContent() {
  if (content_ == nullptr) return Status::Ok();
  std::vector<InodeId> ids;
  CFS_RETURN_IF_ERROR(
      content_->ForEachId([&](InodeId id) { ids.push_back(id); }));
  for (InodeId id : ids) {
    ++report_->content_files;
    const InodeInfo* n = Find(id);
    if (n == nullptr) {
      if (repair_) {
        leaked_content_.push_back(id);
      } else {
        Problem(Str("leaked content of missing inode ", id));
      }
    } else if (!n->corrupt && n->type != FileType::kRegular) {
      Problem(Str("content of non-regular inode ", id, " (",
                  FileTypeName(n->type), ")"));
    }
  }
  return Status::Ok();
}

void Checker::CheckLinks() {
  for (const auto& [id, n] : inodes_) {
    if (n.corrupt) continue;
    if (n.type == FileType::kSymlink && !n.symlink_key) {
      Problem(Str("symlink ", id, " has no target"));
    }
    if (id == kRootInode) {
      if (n.links > 0) {
        Problem(Str("root directory 1 referenced by ", n.links, " entries"));
      } else if (n.type == FileType::kDirectory && n.nlink != 2 + n.subdirs) {
        Problem(Str("directory 1 has wrong nlink ", n.nlink, " (expected ",
                    2 + n.subdirs, ")"));
      }
    } else if (n.links == 0) {
      CheckUnreferenced(id, n);
    } else {
      CheckReferenced(id, n);
    }
  }
}

void Checker::CheckUnreferenced(InodeId id, const InodeInfo& n) {
  if (!n.orphan_key) {
    Problem(Str(FileTypeName(n.type), " ", id,
                " is unreferenced and not an orphan"));
  } else if (n.nlink != 0) {
    Problem(Str("orphan ", id, " has nlink ", n.nlink));
  } else if (n.children != 0) {
    Problem(
        Str("orphan directory ", id, " still has ", n.children, " entries"));
  } else {
    ++report_->orphans;
    reclaimable_.push_back(id);
  }
}

void Checker::CheckReferenced(InodeId id, const InodeInfo& n) {
  if (n.orphan_key) {
    Problem(Str("orphan key for linked inode ", id, " (", n.links,
                " entries, nlink ", n.nlink, ")"));
  }
  if (n.type != FileType::kDirectory) {
    if (n.nlink != n.links) {
      Problem(Str(FileTypeName(n.type), " ", id, " has wrong nlink ", n.nlink,
                  " (", n.links, " entries)"));
    }
    return;
  }
  if (n.links > 1) {
    Problem(Str("directory ", id, " referenced by ", n.links, " entries"));
  } else if (n.parent != n.entry_parent) {
    Problem(Str("directory ", id, " parent mismatch: field says ", n.parent,
                ", entry is in ", n.entry_parent));
  }
  if (n.nlink != 2 + n.subdirs) {
    Problem(Str("directory ", id, " has wrong nlink ", n.nlink, " (expected ",
                2 + n.subdirs, ")"));
  }
}

enum WalkState : uint8_t { kUnvisited = 0, kOnPath, kReachesRoot, kBroken };

void Checker::CheckParentChains() {
  std::unordered_map<InodeId, uint8_t> state;
  state[kRootInode] = kReachesRoot;
  for (const auto& [id, n] : inodes_) {
    if (!IsDir(&n) || (n.links == 0 && n.orphan_key)) continue;
    if (state[id] == kUnvisited) WalkParents(id, &state);
  }
}

// Follows parent fields from `start` until a directory of known state, the
// root, a broken link or a cycle; every directory on the way gets the
// outcome, so each cycle or broken link is reported once.
void Checker::WalkParents(InodeId start,
                          std::unordered_map<InodeId, uint8_t>* state) {
  std::vector<InodeId> path;
  uint8_t outcome = kBroken;
  for (InodeId cur = start;;) {
    uint8_t s = (*state)[cur];
    if (s == kReachesRoot || s == kBroken) {
      outcome = s;
      break;
    }
    if (s == kOnPath) {
      std::string cycle;
      auto it = std::find(path.begin(), path.end(), cur);
      for (; it != path.end(); ++it) cycle += std::to_string(*it) + " -> ";
      Problem(Str("directory cycle: ", cycle, cur, " (unreachable from root)"));
      break;
    }
    (*state)[cur] = kOnPath;
    path.push_back(cur);
    InodeId next = Find(cur)->parent;
    if (!IsDir(Find(next))) {
      Problem(Str("directory ", cur, " parent ", next,
                  " is missing or not a directory"));
      break;
    }
    cur = next;
  }
  for (InodeId id : path) (*state)[id] = outcome;
}

Status Checker::Repair() {
  for (InodeId id : dangling_orphans_) {
    MetadataBatch b;
    b.RemoveOrphan(id);
    CFS_RETURN_IF_ERROR(md_->Write(b));
    ++report_->dangling_orphan_keys_removed;
  }
  for (InodeId id : leaked_content_) {
    CFS_RETURN_IF_ERROR(content_->Remove(id));
    ++report_->leaked_content_removed;
  }
  for (InodeId id : reclaimable_) {
    CFS_RETURN_IF_ERROR(ReclaimOne(md_, content_, id));
    ++report_->orphans_reclaimed;
  }
  return Status::Ok();
}

}  // namespace

std::string FsckReport::Summary() const {
  std::ostringstream os;
  if (consistent()) {
    os << "consistent\n";
  } else {
    os << problems.size() << " problem(s)\n";
  }
  os << "inodes: " << inodes << " (directories " << directories << ", orphans "
     << orphans << ")\n"
     << "entries: " << entries << "\n"
     << "content files: " << content_files << "\n";
  if (orphans_reclaimed + leaked_content_removed +
          dangling_orphan_keys_removed >
      0) {
    os << "repaired: " << orphans_reclaimed << " orphan(s) reclaimed, "
       << leaked_content_removed << " leaked content removed, "
       << dangling_orphan_keys_removed << " dangling orphan key(s) removed\n";
  }
  for (size_t i = 0; i < problems.size() && i < kSummaryProblems; ++i) {
    os << "  " << problems[i] << "\n";
  }
  if (problems.size() > kSummaryProblems) {
    os << "  ... and " << problems.size() - kSummaryProblems << " more\n";
  }
  return os.str();
}

Result<FsckReport> CheckConsistency(MetadataStore* md, ContentStore* content,
                                    const FsckOptions& opts) {
  FsckReport report;
  Checker checker(md, content, opts.repair, &report);
  CFS_RETURN_IF_ERROR(checker.Run());
  return report;
}

Result<uint64_t> ReclaimOrphans(MetadataStore* md, ContentStore* content) {
  std::vector<InodeId> ids;
  CFS_RETURN_IF_ERROR(md->ListOrphans(&ids));
  uint64_t reclaimed = 0;
  for (InodeId id : ids) {
    Result<Inode> inode = md->GetInode(id);
    if (!inode.ok()) {
      if (inode.code() != ENOENT && inode.code() != EUCLEAN) {
        return inode.status();
      }
      CFS_LOG_WARN("orphan {}: {}; left for fsck", id,
                   inode.status().ToString());
      continue;
    }
    if (inode->nlink != 0) {
      CFS_LOG_WARN("orphan {} has nlink {}; left for fsck", id, inode->nlink);
      continue;
    }
    if (inode->is_dir()) {
      CFS_ASSIGN_OR_RETURN(bool has_entries, md->HasEntries(id));
      if (has_entries) {
        CFS_LOG_WARN("orphan directory {} has entries; left for fsck", id);
        continue;
      }
    }
    CFS_RETURN_IF_ERROR(ReclaimOne(md, content, id));
    ++reclaimed;
  }
  return reclaimed;
}

}  // namespace concordfs
