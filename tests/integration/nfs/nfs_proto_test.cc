// Protocol conformance of the NFSv3 (RFC 1813) and MOUNT v3 servers, seen
// through libnfs's raw RPC API: every procedure, its results and the exact
// nfsstat3 / mountstat3 of its error cases, as a client receives them.
//
// Each test runs its own daemon (NfsDaemon) and talks to it over TCP with
// AUTH_SYS uid 0 unless it says otherwise.
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <ctime>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "tests/integration/nfs/nfs_fixture.h"

// Exported by libnfs.so (its private pdu.c) but not declared in its public
// headers: the only way to send a call with a procedure number libnfs has no
// wrapper for. These are libnfs 4.0's signatures (unchanged in later ones).
extern "C" {
struct rpc_pdu;
struct rpc_pdu* rpc_allocate_pdu(struct rpc_context* rpc, int program,
                                 int version, int procedure, rpc_cb cb,
                                 void* private_data, zdrproc_t zdr_decode_fn,
                                 int zdr_bufsize);
int rpc_queue_pdu(struct rpc_context* rpc, struct rpc_pdu* pdu);
}

// Readable gtest messages for the status enums (ADL: they are global).
void PrintTo(nfsstat3 s, std::ostream* os) {
  *os << nfsstat3_to_str(static_cast<int>(s)) << " (" << static_cast<int>(s)
      << ")";
}
void PrintTo(mountstat3 s, std::ostream* os) {
  *os << "mountstat3 " << static_cast<int>(s);
}

namespace cfs_nfs_test {
namespace {

// A status no server sends: the call itself failed (reported separately).
constexpr nfsstat3 kRpcFailed = static_cast<nfsstat3>(-1);
constexpr mountstat3 kMntRpcFailed = static_cast<mountstat3>(-1);

constexpr uint32_t kAllAccess = ACCESS3_READ | ACCESS3_LOOKUP | ACCESS3_MODIFY |
                                ACCESS3_EXTEND | ACCESS3_DELETE |
                                ACCESS3_EXECUTE;

// ---- owned copies of libnfs's decoded results ----

nfs_fh3 ToFh(const std::string& h) {
  nfs_fh3 f{};
  f.data.data_len = static_cast<u_int>(h.size());
  f.data.data_val = const_cast<char*>(h.data());
  return f;
}

std::string FromFh(const nfs_fh3& f) {
  return std::string(f.data.data_val, f.data.data_len);
}

struct PostOp {
  bool present = false;
  fattr3 attr{};
};

PostOp FromPostOp(const post_op_attr& p) {
  PostOp o;
  o.present = p.attributes_follow != 0;
  if (o.present) o.attr = p.post_op_attr_u.attributes;
  return o;
}

struct Wcc {
  bool before_present = false;
  wcc_attr before{};
  PostOp after;
};

Wcc FromWcc(const wcc_data& w) {
  Wcc o;
  o.before_present = w.before.attributes_follow != 0;
  if (o.before_present) o.before = w.before.pre_op_attr_u.attributes;
  o.after = FromPostOp(w.after);
  return o;
}

// Result of CREATE / MKDIR / SYMLINK / MKNOD.
struct NewObj {
  std::optional<std::string> fh;
  PostOp attr;
  Wcc dir_wcc;
};

struct WriteOut {
  uint32_t count = 0;
  stable_how committed = UNSTABLE;
  std::string verf;
  Wcc wcc;
};

struct DirEntry {
  uint64_t fileid = 0;
  std::string name;
  uint64_t cookie = 0;
  PostOp attr;                    // READDIRPLUS only
  std::optional<std::string> fh;  // READDIRPLUS only
};

struct DirPage {
  PostOp dir_attr;
  std::string verf;
  std::vector<DirEntry> entries;
  bool eof = false;
};

int64_t NowSeconds() { return static_cast<int64_t>(::time(nullptr)); }

sattr3 NoAttrs() {
  sattr3 s;
  std::memset(&s, 0, sizeof(s));
  return s;
}

sattr3 ModeAttrs(uint32_t mode) {
  sattr3 s = NoAttrs();
  s.mode.set_it = 1;
  s.mode.set_mode3_u.mode = mode;
  return s;
}

sattr3 SizeAttrs(uint64_t size) {
  sattr3 s = NoAttrs();
  s.size.set_it = 1;
  s.size.set_size3_u.size = size;
  return s;
}

bool SameTime(const nfstime3& a, const nfstime3& b) {
  return a.seconds == b.seconds && a.nseconds == b.nseconds;
}

// Waits for one call on `rpc` with no arguments and a void result; returns
// the RPC status and the error text libnfs reports.
int CallNoArgs(RawRpc& rpc, int program, int version, int proc,
               std::string* err) {
  return rpc.Call(
      [&](struct rpc_context* r, rpc_cb cb, void* priv) {
        struct rpc_pdu* pdu = rpc_allocate_pdu(
            r, program, version, proc, cb, priv,
            reinterpret_cast<zdrproc_t>(
                reinterpret_cast<void (*)(void)>(&libnfs_zdr_void)),
            0);
        if (pdu == nullptr) return -1;
        return rpc_queue_pdu(r, pdu);
      },
      [&](int status, void* data) {
        if (status == RPC_STATUS_ERROR && data != nullptr && err != nullptr) {
          *err = static_cast<const char*>(data);
        }
      });
}

// ---- MOUNT v3 client ----

class MountClient {
 public:
  bool Connect(uint16_t port) {
    return rpc_.Connect(port, MOUNT_PROGRAM, MOUNT_V3);
  }
  RawRpc& rpc() { return rpc_; }

  bool Null() {
    return rpc_.Call([](struct rpc_context* r, rpc_cb cb, void* p) {
      return rpc_mount3_null_async(r, cb, p);
    }) == RPC_STATUS_SUCCESS;
  }

  mountstat3 Mnt(const std::string& path, std::string* fh = nullptr,
                 std::vector<int>* flavors = nullptr) {
    mountstat3 st = kMntRpcFailed;
    std::string arg = path;
    int rc = rpc_.Call(
        [&](struct rpc_context* r, rpc_cb cb, void* p) {
          return rpc_mount3_mnt_async(r, cb, arg.data(), p);
        },
        [&](int status, void* data) {
          if (status != RPC_STATUS_SUCCESS) return;
          const auto& res = *static_cast<mountres3*>(data);
          st = res.fhs_status;
          if (st != MNT3_OK) return;
          const mountres3_ok& ok = res.mountres3_u.mountinfo;
          if (fh != nullptr) {
            fh->assign(ok.fhandle.fhandle3_val, ok.fhandle.fhandle3_len);
          }
          if (flavors != nullptr) {
            flavors->assign(ok.auth_flavors.auth_flavors_val,
                            ok.auth_flavors.auth_flavors_val +
                                ok.auth_flavors.auth_flavors_len);
          }
        });
    if (rc != RPC_STATUS_SUCCESS) ADD_FAILURE() << "MNT: " << rpc_.error();
    return st;
  }

  // (hostname, directory) pairs.
  std::vector<std::pair<std::string, std::string>> Dump() {
    std::vector<std::pair<std::string, std::string>> out;
    int rc = rpc_.Call([&](struct rpc_context* r, rpc_cb cb,
                           void* p) { return rpc_mount3_dump_async(r, cb, p); },
                       [&](int status, void* data) {
                         if (status != RPC_STATUS_SUCCESS) return;
                         for (void* p = Node<mountlist>(data); p != nullptr;) {
                           auto m = Node<mountbody>(p);
                           out.emplace_back(m.ml_hostname, m.ml_directory);
                           p = m.ml_next;
                         }
                       });
    if (rc != RPC_STATUS_SUCCESS) ADD_FAILURE() << "DUMP: " << rpc_.error();
    return out;
  }

  bool Umnt(const std::string& path) {
    std::string arg = path;
    return rpc_.Call([&](struct rpc_context* r, rpc_cb cb, void* p) {
      return rpc_mount3_umnt_async(r, cb, arg.data(), p);
    }) == RPC_STATUS_SUCCESS;
  }

  bool UmntAll() {
    return rpc_.Call([](struct rpc_context* r, rpc_cb cb, void* p) {
      return rpc_mount3_umntall_async(r, cb, p);
    }) == RPC_STATUS_SUCCESS;
  }

  // directory -> client patterns.
  std::vector<std::pair<std::string, std::vector<std::string>>> Export() {
    std::vector<std::pair<std::string, std::vector<std::string>>> out;
    int rc =
        rpc_.Call([&](struct rpc_context* r, rpc_cb cb,
                      void* p) { return rpc_mount3_export_async(r, cb, p); },
                  [&](int status, void* data) {
                    if (status != RPC_STATUS_SUCCESS) return;
                    for (void* p = Node<exports>(data); p != nullptr;) {
                      auto x = Node<exportnode>(p);
                      std::vector<std::string> groups;
                      for (void* q = x.ex_groups; q != nullptr;) {
                        auto g = Node<groupnode>(q);
                        groups.emplace_back(g.gr_name);
                        q = g.gr_next;
                      }
                      out.emplace_back(x.ex_dir, std::move(groups));
                      p = x.ex_next;
                    }
                  });
    if (rc != RPC_STATUS_SUCCESS) ADD_FAILURE() << "EXPORT: " << rpc_.error();
    return out;
  }

 private:
  RawRpc rpc_;
};

// ---- NFS v3 client: one synchronous method per procedure ----

class Nfs3Client {
 public:
  // Connects with AUTH_SYS uid/gid.
  bool Connect(uint16_t port, int uid, int gid) {
    rpc_set_uid(rpc_.get(), uid);
    rpc_set_gid(rpc_.get(), gid);
    return rpc_.Connect(port, NFS_PROGRAM, NFS_V3);
  }
  RawRpc& rpc() { return rpc_; }

  bool Null() {
    return rpc_.Call([](struct rpc_context* r, rpc_cb cb, void* p) {
      return rpc_nfs3_null_async(r, cb, p);
    }) == RPC_STATUS_SUCCESS;
  }

  nfsstat3 Getattr(const std::string& fh, fattr3* out = nullptr) {
    GETATTR3args a{};
    a.object = ToFh(fh);
    return Do<GETATTR3res>(rpc_nfs3_getattr_async, &a,
                           [&](const GETATTR3res& r) {
                             if (r.status == NFS3_OK && out != nullptr) {
                               *out = r.GETATTR3res_u.resok.obj_attributes;
                             }
                           });
  }

  // GETATTR that must succeed.
  fattr3 Attr(const std::string& fh) {
    fattr3 a{};
    EXPECT_EQ(NFS3_OK, Getattr(fh, &a));
    return a;
  }

  nfsstat3 Setattr(const std::string& fh, const sattr3& sa,
                   const nfstime3* guard = nullptr, Wcc* wcc = nullptr) {
    SETATTR3args a{};
    a.object = ToFh(fh);
    a.new_attributes = sa;
    if (guard != nullptr) {
      a.guard.check = 1;
      a.guard.sattrguard3_u.obj_ctime = *guard;
    }
    return Do<SETATTR3res>(
        rpc_nfs3_setattr_async, &a, [&](const SETATTR3res& r) {
          if (wcc == nullptr) return;
          *wcc = FromWcc(r.status == NFS3_OK ? r.SETATTR3res_u.resok.obj_wcc
                                             : r.SETATTR3res_u.resfail.obj_wcc);
        });
  }

  nfsstat3 Lookup(const std::string& dir, const std::string& name,
                  std::string* fh = nullptr, PostOp* obj = nullptr,
                  PostOp* dir_attr = nullptr) {
    std::string n = name;
    LOOKUP3args a{};
    a.what.dir = ToFh(dir);
    a.what.name = n.data();
    return Do<LOOKUP3res>(rpc_nfs3_lookup_async, &a, [&](const LOOKUP3res& r) {
      if (r.status == NFS3_OK) {
        const LOOKUP3resok& ok = r.LOOKUP3res_u.resok;
        if (fh != nullptr) *fh = FromFh(ok.object);
        if (obj != nullptr) *obj = FromPostOp(ok.obj_attributes);
        if (dir_attr != nullptr) *dir_attr = FromPostOp(ok.dir_attributes);
      } else if (dir_attr != nullptr) {
        *dir_attr = FromPostOp(r.LOOKUP3res_u.resfail.dir_attributes);
      }
    });
  }

  // LOOKUP that must succeed; the handle.
  std::string Handle(const std::string& dir, const std::string& name) {
    std::string fh;
    EXPECT_EQ(NFS3_OK, Lookup(dir, name, &fh)) << name;
    return fh;
  }

  nfsstat3 Access(const std::string& fh, uint32_t want, uint32_t* got,
                  PostOp* attr = nullptr) {
    ACCESS3args a{};
    a.object = ToFh(fh);
    a.access = want;
    return Do<ACCESS3res>(rpc_nfs3_access_async, &a, [&](const ACCESS3res& r) {
      if (r.status == NFS3_OK) {
        if (got != nullptr) *got = r.ACCESS3res_u.resok.access;
        if (attr != nullptr) {
          *attr = FromPostOp(r.ACCESS3res_u.resok.obj_attributes);
        }
      }
    });
  }

  nfsstat3 Readlink(const std::string& fh, std::string* target,
                    PostOp* attr = nullptr) {
    READLINK3args a{};
    a.symlink = ToFh(fh);
    return Do<READLINK3res>(
        rpc_nfs3_readlink_async, &a, [&](const READLINK3res& r) {
          if (r.status == NFS3_OK) {
            const READLINK3resok& ok = r.READLINK3res_u.resok;
            if (target != nullptr) *target = ok.data;
            if (attr != nullptr) {
              *attr = FromPostOp(ok.symlink_attributes);
            }
          }
        });
  }

  nfsstat3 Read(const std::string& fh, uint64_t off, uint32_t count,
                std::string* data = nullptr, bool* eof = nullptr,
                uint32_t* rcount = nullptr) {
    READ3args a{};
    a.file = ToFh(fh);
    a.offset = off;
    a.count = count;
    return Do<READ3res>(rpc_nfs3_read_async, &a, [&](const READ3res& r) {
      if (r.status != NFS3_OK) return;
      const READ3resok& ok = r.READ3res_u.resok;
      if (data != nullptr) data->assign(ok.data.data_val, ok.data.data_len);
      if (eof != nullptr) *eof = ok.eof != 0;
      if (rcount != nullptr) *rcount = ok.count;
    });
  }

  nfsstat3 Write(const std::string& fh, uint64_t off, const std::string& data,
                 stable_how stable, WriteOut* out = nullptr) {
    std::string buf = data;
    WRITE3args a{};
    a.file = ToFh(fh);
    a.offset = off;
    a.count = static_cast<count3>(buf.size());
    a.stable = stable;
    a.data.data_len = static_cast<u_int>(buf.size());
    a.data.data_val = buf.data();
    return Do<WRITE3res>(rpc_nfs3_write_async, &a, [&](const WRITE3res& r) {
      if (out == nullptr) return;
      if (r.status == NFS3_OK) {
        const WRITE3resok& ok = r.WRITE3res_u.resok;
        out->count = ok.count;
        out->committed = ok.committed;
        out->verf.assign(ok.verf, NFS3_WRITEVERFSIZE);
        out->wcc = FromWcc(ok.file_wcc);
      } else {
        out->wcc = FromWcc(r.WRITE3res_u.resfail.file_wcc);
      }
    });
  }

  nfsstat3 Commit(const std::string& fh, std::string* verf,
                  Wcc* wcc = nullptr) {
    COMMIT3args a{};
    a.file = ToFh(fh);
    return Do<COMMIT3res>(rpc_nfs3_commit_async, &a, [&](const COMMIT3res& r) {
      if (r.status == NFS3_OK) {
        if (verf != nullptr) {
          verf->assign(r.COMMIT3res_u.resok.verf, NFS3_WRITEVERFSIZE);
        }
        if (wcc != nullptr) *wcc = FromWcc(r.COMMIT3res_u.resok.file_wcc);
      }
    });
  }

  // UNCHECKED / GUARDED with `sa`, or EXCLUSIVE with `verf` (8 bytes).
  nfsstat3 Create(const std::string& dir, const std::string& name,
                  createmode3 how, const sattr3& sa, NewObj* out = nullptr,
                  const std::string& verf = std::string(8, '\0')) {
    std::string n = name;
    CREATE3args a{};
    a.where.dir = ToFh(dir);
    a.where.name = n.data();
    a.how.mode = how;
    if (how == EXCLUSIVE) {
      std::memcpy(a.how.createhow3_u.verf, verf.data(), NFS3_CREATEVERFSIZE);
    } else {
      a.how.createhow3_u.obj_attributes = sa;
    }
    return Do<CREATE3res>(rpc_nfs3_create_async, &a, [&](const CREATE3res& r) {
      if (out == nullptr) return;
      if (r.status == NFS3_OK) {
        const CREATE3resok& ok = r.CREATE3res_u.resok;
        *out = MakeNewObj(ok.obj, ok.obj_attributes, ok.dir_wcc);
      } else {
        out->dir_wcc = FromWcc(r.CREATE3res_u.resfail.dir_wcc);
      }
    });
  }

  nfsstat3 Mkdir(const std::string& dir, const std::string& name, uint32_t mode,
                 NewObj* out = nullptr) {
    std::string n = name;
    MKDIR3args a{};
    a.where.dir = ToFh(dir);
    a.where.name = n.data();
    a.attributes = ModeAttrs(mode);
    return Do<MKDIR3res>(rpc_nfs3_mkdir_async, &a, [&](const MKDIR3res& r) {
      if (out == nullptr) return;
      if (r.status == NFS3_OK) {
        const MKDIR3resok& ok = r.MKDIR3res_u.resok;
        *out = MakeNewObj(ok.obj, ok.obj_attributes, ok.dir_wcc);
      } else {
        out->dir_wcc = FromWcc(r.MKDIR3res_u.resfail.dir_wcc);
      }
    });
  }

  nfsstat3 Symlink(const std::string& dir, const std::string& name,
                   const std::string& target, NewObj* out = nullptr) {
    std::string n = name, t = target;
    SYMLINK3args a{};
    a.where.dir = ToFh(dir);
    a.where.name = n.data();
    a.symlink.symlink_attributes = NoAttrs();
    a.symlink.symlink_data = t.data();
    return Do<SYMLINK3res>(
        rpc_nfs3_symlink_async, &a, [&](const SYMLINK3res& r) {
          if (out == nullptr) return;
          if (r.status == NFS3_OK) {
            const SYMLINK3resok& ok = r.SYMLINK3res_u.resok;
            *out = MakeNewObj(ok.obj, ok.obj_attributes, ok.dir_wcc);
          } else {
            out->dir_wcc = FromWcc(r.SYMLINK3res_u.resfail.dir_wcc);
          }
        });
  }

  nfsstat3 Mknod(const std::string& dir, const std::string& name, ftype3 type,
                 uint32_t major_no = 0, uint32_t minor_no = 0,
                 NewObj* out = nullptr) {
    std::string n = name;
    MKNOD3args a{};
    a.where.dir = ToFh(dir);
    a.where.name = n.data();
    a.what.type = type;
    switch (type) {
      case NF3CHR:
      case NF3BLK:
        a.what.mknoddata3_u.chr_device.dev_attributes = ModeAttrs(0644);
        a.what.mknoddata3_u.chr_device.spec.specdata1 = major_no;
        a.what.mknoddata3_u.chr_device.spec.specdata2 = minor_no;
        break;
      case NF3SOCK:
      case NF3FIFO:
        a.what.mknoddata3_u.pipe_attributes = ModeAttrs(0644);
        break;
      default:
        break;
    }
    return Do<MKNOD3res>(rpc_nfs3_mknod_async, &a, [&](const MKNOD3res& r) {
      if (out == nullptr) return;
      if (r.status == NFS3_OK) {
        const MKNOD3resok& ok = r.MKNOD3res_u.resok;
        *out = MakeNewObj(ok.obj, ok.obj_attributes, ok.dir_wcc);
      } else {
        out->dir_wcc = FromWcc(r.MKNOD3res_u.resfail.dir_wcc);
      }
    });
  }

  nfsstat3 Remove(const std::string& dir, const std::string& name,
                  Wcc* wcc = nullptr) {
    std::string n = name;
    REMOVE3args a{};
    a.object.dir = ToFh(dir);
    a.object.name = n.data();
    return Do<REMOVE3res>(rpc_nfs3_remove_async, &a, [&](const REMOVE3res& r) {
      if (wcc == nullptr) return;
      *wcc = FromWcc(r.status == NFS3_OK ? r.REMOVE3res_u.resok.dir_wcc
                                         : r.REMOVE3res_u.resfail.dir_wcc);
    });
  }

  nfsstat3 Rmdir(const std::string& dir, const std::string& name,
                 Wcc* wcc = nullptr) {
    std::string n = name;
    RMDIR3args a{};
    a.object.dir = ToFh(dir);
    a.object.name = n.data();
    return Do<RMDIR3res>(rpc_nfs3_rmdir_async, &a, [&](const RMDIR3res& r) {
      if (wcc == nullptr) return;
      *wcc = FromWcc(r.status == NFS3_OK ? r.RMDIR3res_u.resok.dir_wcc
                                         : r.RMDIR3res_u.resfail.dir_wcc);
    });
  }

  nfsstat3 Rename(const std::string& from_dir, const std::string& from_name,
                  const std::string& to_dir, const std::string& to_name,
                  Wcc* from_wcc = nullptr, Wcc* to_wcc = nullptr) {
    std::string fn = from_name, tn = to_name;
    RENAME3args a{};
    a.from.dir = ToFh(from_dir);
    a.from.name = fn.data();
    a.to.dir = ToFh(to_dir);
    a.to.name = tn.data();
    return Do<RENAME3res>(rpc_nfs3_rename_async, &a, [&](const RENAME3res& r) {
      const auto& w = r.status == NFS3_OK ? r.RENAME3res_u.resok.fromdir_wcc
                                          : r.RENAME3res_u.resfail.fromdir_wcc;
      const auto& t = r.status == NFS3_OK ? r.RENAME3res_u.resok.todir_wcc
                                          : r.RENAME3res_u.resfail.todir_wcc;
      if (from_wcc != nullptr) *from_wcc = FromWcc(w);
      if (to_wcc != nullptr) *to_wcc = FromWcc(t);
    });
  }

  nfsstat3 Link(const std::string& file, const std::string& dir,
                const std::string& name, PostOp* file_attr = nullptr,
                Wcc* dir_wcc = nullptr) {
    std::string n = name;
    LINK3args a{};
    a.file = ToFh(file);
    a.link.dir = ToFh(dir);
    a.link.name = n.data();
    return Do<LINK3res>(rpc_nfs3_link_async, &a, [&](const LINK3res& r) {
      const post_op_attr& fa = r.status == NFS3_OK
                                   ? r.LINK3res_u.resok.file_attributes
                                   : r.LINK3res_u.resfail.file_attributes;
      const wcc_data& w = r.status == NFS3_OK
                              ? r.LINK3res_u.resok.linkdir_wcc
                              : r.LINK3res_u.resfail.linkdir_wcc;
      if (file_attr != nullptr) *file_attr = FromPostOp(fa);
      if (dir_wcc != nullptr) *dir_wcc = FromWcc(w);
    });
  }

  nfsstat3 Readdir(const std::string& dir, uint64_t cookie,
                   const std::string& verf, uint32_t count, DirPage* out) {
    READDIR3args a{};
    a.dir = ToFh(dir);
    a.cookie = cookie;
    std::memcpy(a.cookieverf, verf.data(),
                std::min<size_t>(verf.size(), NFS3_COOKIEVERFSIZE));
    a.count = count;
    return Do<READDIR3res>(
        rpc_nfs3_readdir_async, &a, [&](const READDIR3res& r) {
          if (out == nullptr) return;
          *out = DirPage{};
          if (r.status != NFS3_OK) {
            out->dir_attr = FromPostOp(r.READDIR3res_u.resfail.dir_attributes);
            return;
          }
          const READDIR3resok& ok = r.READDIR3res_u.resok;
          out->dir_attr = FromPostOp(ok.dir_attributes);
          out->verf.assign(ok.cookieverf, NFS3_COOKIEVERFSIZE);
          out->eof = ok.reply.eof != 0;
          for (void* p = ok.reply.entries; p != nullptr;) {
            auto e = Node<entry3>(p);
            DirEntry d;
            d.fileid = e.fileid;
            d.name = e.name;
            d.cookie = e.cookie;
            out->entries.push_back(std::move(d));
            p = e.nextentry;
          }
        });
  }

  nfsstat3 Readdirplus(const std::string& dir, uint64_t cookie,
                       const std::string& verf, uint32_t dircount,
                       uint32_t maxcount, DirPage* out) {
    READDIRPLUS3args a{};
    a.dir = ToFh(dir);
    a.cookie = cookie;
    std::memcpy(a.cookieverf, verf.data(),
                std::min<size_t>(verf.size(), NFS3_COOKIEVERFSIZE));
    a.dircount = dircount;
    a.maxcount = maxcount;
    return Do<READDIRPLUS3res>(
        rpc_nfs3_readdirplus_async, &a, [&](const READDIRPLUS3res& r) {
          if (out == nullptr) return;
          *out = DirPage{};
          if (r.status != NFS3_OK) {
            out->dir_attr =
                FromPostOp(r.READDIRPLUS3res_u.resfail.dir_attributes);
            return;
          }
          const READDIRPLUS3resok& ok = r.READDIRPLUS3res_u.resok;
          out->dir_attr = FromPostOp(ok.dir_attributes);
          out->verf.assign(ok.cookieverf, NFS3_COOKIEVERFSIZE);
          out->eof = ok.reply.eof != 0;
          for (void* p = ok.reply.entries; p != nullptr;) {
            auto e = Node<entryplus3>(p);
            DirEntry d;
            d.fileid = e.fileid;
            d.name = e.name;
            d.cookie = e.cookie;
            d.attr = FromPostOp(e.name_attributes);
            if (e.name_handle.handle_follows) {
              d.fh = FromFh(e.name_handle.post_op_fh3_u.handle);
            }
            out->entries.push_back(std::move(d));
            p = e.nextentry;
          }
        });
  }

  nfsstat3 Fsstat(const std::string& fh, FSSTAT3resok* out) {
    FSSTAT3args a{};
    a.fsroot = ToFh(fh);
    return Do<FSSTAT3res>(rpc_nfs3_fsstat_async, &a, [&](const FSSTAT3res& r) {
      if (r.status == NFS3_OK && out != nullptr) *out = r.FSSTAT3res_u.resok;
    });
  }

  nfsstat3 Fsinfo(const std::string& fh, FSINFO3resok* out) {
    FSINFO3args a{};
    a.fsroot = ToFh(fh);
    return Do<FSINFO3res>(rpc_nfs3_fsinfo_async, &a, [&](const FSINFO3res& r) {
      if (r.status == NFS3_OK && out != nullptr) *out = r.FSINFO3res_u.resok;
    });
  }

  nfsstat3 Pathconf(const std::string& fh, PATHCONF3resok* out) {
    PATHCONF3args a{};
    a.object = ToFh(fh);
    return Do<PATHCONF3res>(rpc_nfs3_pathconf_async, &a,
                            [&](const PATHCONF3res& r) {
                              if (r.status == NFS3_OK && out != nullptr) {
                                *out = r.PATHCONF3res_u.resok;
                              }
                            });
  }

 private:
  // Issues `async(rpc, cb, args, priv)`, waits, hands the decoded result to
  // `take` (inside the callback: libnfs frees it afterwards) and returns its
  // status, or kRpcFailed (with a test failure) when the call failed.
  template <typename Res, typename Args, typename Async, typename Take>
  nfsstat3 Do(Async async, Args* args, Take take) {
    nfsstat3 st = kRpcFailed;
    int rc = rpc_.Call([&](struct rpc_context* r, rpc_cb cb,
                           void* p) { return async(r, cb, args, p); },
                       [&](int status, void* data) {
                         if (status != RPC_STATUS_SUCCESS || data == nullptr)
                           return;
                         const Res& res = *static_cast<const Res*>(data);
                         st = res.status;
                         take(res);
                       });
    if (rc != RPC_STATUS_SUCCESS) {
      ADD_FAILURE() << "RPC call failed (" << rc << "): " << rpc_.error();
    }
    return st;
  }

  static NewObj MakeNewObj(const post_op_fh3& fh, const post_op_attr& attr,
                           const wcc_data& wcc) {
    NewObj o;
    if (fh.handle_follows) o.fh = FromFh(fh.post_op_fh3_u.handle);
    o.attr = FromPostOp(attr);
    o.dir_wcc = FromWcc(wcc);
    return o;
  }

  RawRpc rpc_;
};

// ---- fixture ----

class NfsProto : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(d_.Start());
    ASSERT_NO_FATAL_FAILURE(Connect());
  }

  // (Re)connects MOUNT and NFS (uid 0) and mounts "/" into root_.
  void Connect() {
    mnt_ = std::make_unique<MountClient>();
    ASSERT_TRUE(mnt_->Connect(d_.port())) << mnt_->rpc().error();
    ASSERT_EQ(MNT3_OK, mnt_->Mnt("/", &root_));
    c_ = std::make_unique<Nfs3Client>();
    ASSERT_TRUE(c_->Connect(d_.port(), 0, 0)) << c_->rpc().error();
  }

  void RestartDaemon() {
    c_.reset();
    mnt_.reset();
    ASSERT_TRUE(d_.Restart());
    ASSERT_NO_FATAL_FAILURE(Connect());
  }

  // A second NFS connection with another AUTH_SYS identity.
  std::unique_ptr<Nfs3Client> ConnectAs(int uid, int gid) {
    auto c = std::make_unique<Nfs3Client>();
    EXPECT_TRUE(c->Connect(d_.port(), uid, gid)) << c->rpc().error();
    return c;
  }

  // GUARDED CREATE of `name` in `dir` (mode), then `data` written
  // FILE_SYNC; the new file's handle.
  std::string MakeFile(const std::string& dir, const std::string& name,
                       uint32_t mode = 0644, const std::string& data = "") {
    NewObj o;
    EXPECT_EQ(NFS3_OK, c_->Create(dir, name, GUARDED, ModeAttrs(mode), &o))
        << name;
    EXPECT_TRUE(o.fh.has_value()) << name;
    std::string fh = o.fh.value_or("");
    if (!data.empty()) {
      EXPECT_EQ(NFS3_OK, c_->Write(fh, 0, data, FILE_SYNC)) << name;
    }
    return fh;
  }

  std::string MakeDir(const std::string& dir, const std::string& name,
                      uint32_t mode = 0755) {
    NewObj o;
    EXPECT_EQ(NFS3_OK, c_->Mkdir(dir, name, mode, &o)) << name;
    EXPECT_TRUE(o.fh.has_value()) << name;
    return o.fh.value_or("");
  }

  // The whole listing of `dir` with READDIR (plus=false) or READDIRPLUS,
  // `count` bytes per call; `calls` counts the calls made. Checks on the way
  // that every reply echoes the first reply's cookie verifier.
  std::vector<DirEntry> ListAll(const std::string& dir, bool plus,
                                uint32_t count, int* calls = nullptr) {
    std::vector<DirEntry> all;
    uint64_t cookie = 0;
    std::string verf(8, '\0');
    std::string first_verf;
    for (int n = 1; n <= 1000; ++n) {
      DirPage p;
      nfsstat3 st = plus ? c_->Readdirplus(dir, cookie, verf, count, count, &p)
                         : c_->Readdir(dir, cookie, verf, count, &p);
      EXPECT_EQ(NFS3_OK, st) << "call " << n << " cookie " << cookie;
      if (st != NFS3_OK) break;
      EXPECT_TRUE(p.dir_attr.present);
      if (first_verf.empty()) first_verf = p.verf;
      EXPECT_EQ(first_verf, p.verf) << "cookie verifier changed, call " << n;
      for (DirEntry& e : p.entries) all.push_back(e);
      if (calls != nullptr) *calls = n;
      if (p.eof) break;
      EXPECT_FALSE(p.entries.empty()) << "no progress without eof";
      if (p.entries.empty()) break;
      cookie = p.entries.back().cookie;
      verf = p.verf;
    }
    return all;
  }

  NfsDaemon d_;
  std::unique_ptr<MountClient> mnt_;
  std::unique_ptr<Nfs3Client> c_;
  std::string root_;
};

// ================= NULL =================

TEST_F(NfsProto, NullProcedures) {
  EXPECT_TRUE(c_->Null()) << c_->rpc().error();
  EXPECT_TRUE(mnt_->Null()) << mnt_->rpc().error();
}

// ================= MOUNT =================

TEST_F(NfsProto, MountRootGivesHandleAndAuthSys) {
  std::string fh;
  std::vector<int> flavors;
  ASSERT_EQ(MNT3_OK, mnt_->Mnt("/", &fh, &flavors));
  EXPECT_EQ(28u, fh.size());
  EXPECT_EQ(root_, fh) << "MNT of the same path twice: same handle";
  EXPECT_NE(flavors.end(), std::find(flavors.begin(), flavors.end(), 1))
      << "AUTH_SYS (1) missing from auth_flavors";
  fattr3 a = c_->Attr(fh);
  EXPECT_EQ(NF3DIR, a.type);
}

TEST_F(NfsProto, MountErrorsAndSubdirectory) {
  MakeFile(root_, "file");
  std::string sub = MakeDir(root_, "sub");
  MakeDir(sub, "deeper");

  EXPECT_EQ(MNT3ERR_NOENT, mnt_->Mnt("/missing"));
  EXPECT_EQ(MNT3ERR_NOENT, mnt_->Mnt("/sub/missing"));
  EXPECT_EQ(MNT3ERR_NOTDIR, mnt_->Mnt("/file"));
  EXPECT_EQ(MNT3ERR_NOTDIR, mnt_->Mnt("/file/below"));

  std::string fh;
  ASSERT_EQ(MNT3_OK, mnt_->Mnt("/sub", &fh));
  EXPECT_EQ(28u, fh.size());
  EXPECT_EQ(sub, fh) << "MNT of a subdirectory: the handle LOOKUP gives";
  std::string deeper;
  ASSERT_EQ(MNT3_OK, mnt_->Mnt("/sub/deeper", &deeper));
  EXPECT_EQ(c_->Handle(sub, "deeper"), deeper);
}

TEST_F(NfsProto, MountDumpUmntUmntall) {
  MakeDir(root_, "sub");
  using Entry = std::pair<std::string, std::string>;
  std::vector<Entry> dump = mnt_->Dump();
  EXPECT_EQ((std::vector<Entry>{{"127.0.0.1", "/"}}), dump);

  ASSERT_EQ(MNT3_OK, mnt_->Mnt("/sub"));
  dump = mnt_->Dump();
  std::sort(dump.begin(), dump.end());
  EXPECT_EQ((std::vector<Entry>{{"127.0.0.1", "/"}, {"127.0.0.1", "/sub"}}),
            dump);

  ASSERT_TRUE(mnt_->Umnt("/"));
  EXPECT_EQ((std::vector<Entry>{{"127.0.0.1", "/sub"}}), mnt_->Dump());

  ASSERT_EQ(MNT3_OK, mnt_->Mnt("/"));
  ASSERT_TRUE(mnt_->UmntAll());
  EXPECT_TRUE(mnt_->Dump().empty());
}

TEST_F(NfsProto, MountExportListsRootAndClients) {
  auto exports = mnt_->Export();
  ASSERT_EQ(1u, exports.size());
  EXPECT_EQ("/", exports[0].first);
  EXPECT_EQ(std::vector<std::string>{"127.0.0.0/8"}, exports[0].second);
}

// ================= GETATTR =================

TEST_F(NfsProto, GetattrRootAndFile) {
  fattr3 root = c_->Attr(root_);
  EXPECT_EQ(NF3DIR, root.type);
  EXPECT_EQ(0755u, root.mode);
  EXPECT_EQ(2u, root.nlink) << "empty directory: . and its entry";
  EXPECT_EQ(0u, root.uid);
  EXPECT_EQ(0u, root.gid);
  EXPECT_NE(0u, root.fileid);

  int64_t before = NowSeconds();
  std::string fh = MakeFile(root_, "f", 0640, "hello");
  fattr3 f = c_->Attr(fh);
  EXPECT_EQ(NF3REG, f.type);
  EXPECT_EQ(0640u, f.mode);
  EXPECT_EQ(1u, f.nlink);
  EXPECT_EQ(5u, f.size);
  EXPECT_EQ(0u, f.uid);
  EXPECT_EQ(0u, f.gid);
  EXPECT_NE(root.fileid, f.fileid);
  EXPECT_EQ(root.fsid, f.fsid);
  EXPECT_EQ(0u, f.rdev.specdata1);
  EXPECT_EQ(0u, f.rdev.specdata2);
  for (const nfstime3* t : {&f.atime, &f.mtime, &f.ctime}) {
    EXPECT_GE(static_cast<int64_t>(t->seconds), before - 2);
    EXPECT_LE(static_cast<int64_t>(t->seconds), NowSeconds() + 2);
    EXPECT_LT(t->nseconds, 1000000000u);
  }
  // The write came after the create: mtime/ctime are the write's.
  EXPECT_TRUE(f.mtime.seconds > f.atime.seconds ||
              (f.mtime.seconds == f.atime.seconds &&
               f.mtime.nseconds >= f.atime.nseconds));

  // A subdirectory adds a link to its parent ("..").
  MakeDir(root_, "d");
  EXPECT_EQ(3u, c_->Attr(root_).nlink);
  // Same fileid as LOOKUP reports.
  PostOp obj;
  ASSERT_EQ(NFS3_OK, c_->Lookup(root_, "f", nullptr, &obj));
  ASSERT_TRUE(obj.present);
  EXPECT_EQ(f.fileid, obj.attr.fileid);
}

// ================= SETATTR =================

TEST_F(NfsProto, SetattrModeOwnerAndSize) {
  std::string fh = MakeFile(root_, "f", 0644, "0123456789");

  Wcc w;
  ASSERT_EQ(NFS3_OK, c_->Setattr(fh, ModeAttrs(0600), nullptr, &w));
  ASSERT_TRUE(w.before_present) << "wcc pre-op attributes missing";
  EXPECT_EQ(10u, w.before.size);
  ASSERT_TRUE(w.after.present) << "wcc post-op attributes missing";
  EXPECT_EQ(0600u, w.after.attr.mode);
  EXPECT_EQ(0600u, c_->Attr(fh).mode);

  sattr3 own = NoAttrs();
  own.uid.set_it = 1;
  own.uid.set_uid3_u.uid = 1234;
  own.gid.set_it = 1;
  own.gid.set_gid3_u.gid = 5678;
  ASSERT_EQ(NFS3_OK, c_->Setattr(fh, own, nullptr, &w));
  EXPECT_TRUE(w.after.present);
  fattr3 a = c_->Attr(fh);
  EXPECT_EQ(1234u, a.uid);
  EXPECT_EQ(5678u, a.gid);

  // Truncate.
  ASSERT_EQ(NFS3_OK, c_->Setattr(fh, SizeAttrs(3), nullptr, &w));
  ASSERT_TRUE(w.before_present);
  EXPECT_EQ(10u, w.before.size);
  ASSERT_TRUE(w.after.present);
  EXPECT_EQ(3u, w.after.attr.size);
  std::string data;
  bool eof = false;
  ASSERT_EQ(NFS3_OK, c_->Read(fh, 0, 100, &data, &eof));
  EXPECT_EQ("012", data);
  EXPECT_TRUE(eof);

  // Extend: the new range reads as zeros.
  ASSERT_EQ(NFS3_OK, c_->Setattr(fh, SizeAttrs(100), nullptr, &w));
  EXPECT_EQ(100u, c_->Attr(fh).size);
  ASSERT_EQ(NFS3_OK, c_->Read(fh, 0, 200, &data, &eof));
  EXPECT_EQ(std::string("012") + std::string(97, '\0'), data);
  EXPECT_TRUE(eof);
}

TEST_F(NfsProto, SetattrTimes) {
  std::string fh = MakeFile(root_, "f");
  sattr3 t = NoAttrs();
  t.atime.set_it = SET_TO_CLIENT_TIME;
  t.atime.set_atime_u.atime = {1000000000u, 111u};
  t.mtime.set_it = SET_TO_CLIENT_TIME;
  t.mtime.set_mtime_u.mtime = {1100000000u, 222222222u};
  Wcc w;
  ASSERT_EQ(NFS3_OK, c_->Setattr(fh, t, nullptr, &w));
  fattr3 a = c_->Attr(fh);
  EXPECT_EQ(1000000000u, a.atime.seconds);
  EXPECT_EQ(111u, a.atime.nseconds);
  EXPECT_EQ(1100000000u, a.mtime.seconds);
  EXPECT_EQ(222222222u, a.mtime.nseconds);
  ASSERT_TRUE(w.after.present);
  EXPECT_TRUE(SameTime(a.mtime, w.after.attr.mtime));

  t = NoAttrs();
  t.atime.set_it = SET_TO_SERVER_TIME;
  t.mtime.set_it = SET_TO_SERVER_TIME;
  int64_t before = NowSeconds();
  ASSERT_EQ(NFS3_OK, c_->Setattr(fh, t));
  a = c_->Attr(fh);
  EXPECT_GE(static_cast<int64_t>(a.atime.seconds), before - 2);
  EXPECT_LE(static_cast<int64_t>(a.atime.seconds), NowSeconds() + 2);
  EXPECT_GE(static_cast<int64_t>(a.mtime.seconds), before - 2);
  EXPECT_LE(static_cast<int64_t>(a.mtime.seconds), NowSeconds() + 2);

  // Only mtime: atime stays.
  t = NoAttrs();
  t.mtime.set_it = SET_TO_CLIENT_TIME;
  t.mtime.set_mtime_u.mtime = {1200000000u, 5u};
  ASSERT_EQ(NFS3_OK, c_->Setattr(fh, t));
  fattr3 b = c_->Attr(fh);
  EXPECT_EQ(1200000000u, b.mtime.seconds);
  EXPECT_EQ(5u, b.mtime.nseconds);
  EXPECT_TRUE(SameTime(a.atime, b.atime));
}

TEST_F(NfsProto, SetattrGuard) {
  std::string fh = MakeFile(root_, "f", 0644);
  fattr3 a = c_->Attr(fh);

  // The right ctime: applied.
  Wcc w;
  ASSERT_EQ(NFS3_OK, c_->Setattr(fh, ModeAttrs(0640), &a.ctime, &w));
  EXPECT_EQ(0640u, c_->Attr(fh).mode);

  // A ctime that is not the file's: NOT_SYNC, nothing changed, wcc present.
  fattr3 now = c_->Attr(fh);
  nfstime3 wrong = now.ctime;
  wrong.seconds -= 1;
  ASSERT_EQ(NFS3ERR_NOT_SYNC, c_->Setattr(fh, ModeAttrs(0600), &wrong, &w));
  EXPECT_TRUE(w.after.present);
  EXPECT_EQ(0640u, c_->Attr(fh).mode);
  // The old ctime (before the first change) is no longer right either.
  if (!SameTime(a.ctime, now.ctime)) {
    EXPECT_EQ(NFS3ERR_NOT_SYNC, c_->Setattr(fh, ModeAttrs(0600), &a.ctime));
  }
  // Off by one nanosecond.
  wrong = now.ctime;
  wrong.nseconds = wrong.nseconds == 0 ? 1 : wrong.nseconds - 1;
  EXPECT_EQ(NFS3ERR_NOT_SYNC, c_->Setattr(fh, ModeAttrs(0600), &wrong));
  EXPECT_EQ(0640u, c_->Attr(fh).mode);
}

TEST_F(NfsProto, SetattrSizeOnDirectoryIsInval) {
  std::string d = MakeDir(root_, "d");
  Wcc w;
  EXPECT_EQ(NFS3ERR_INVAL, c_->Setattr(d, SizeAttrs(0), nullptr, &w));
  EXPECT_TRUE(w.after.present);
  EXPECT_EQ(NF3DIR, c_->Attr(d).type);
}

TEST_F(NfsProto, SetattrByNonOwnerIsPerm) {
  std::string fh = MakeFile(root_, "f", 0666);
  auto user = ConnectAs(1000, 1000);
  EXPECT_EQ(NFS3ERR_PERM, user->Setattr(fh, ModeAttrs(0777)));
  sattr3 own = NoAttrs();
  own.uid.set_it = 1;
  own.uid.set_uid3_u.uid = 1000;
  EXPECT_EQ(NFS3ERR_PERM, user->Setattr(fh, own));
  EXPECT_EQ(0666u, c_->Attr(fh).mode);
  EXPECT_EQ(0u, c_->Attr(fh).uid);
}

// ================= LOOKUP =================

TEST_F(NfsProto, LookupFoundAndMissing) {
  std::string f = MakeFile(root_, "f", 0644, "abc");
  fattr3 root = c_->Attr(root_);

  std::string fh;
  PostOp obj, dir;
  ASSERT_EQ(NFS3_OK, c_->Lookup(root_, "f", &fh, &obj, &dir));
  EXPECT_EQ(28u, fh.size());
  EXPECT_EQ(f, fh);
  ASSERT_TRUE(obj.present);
  EXPECT_EQ(NF3REG, obj.attr.type);
  EXPECT_EQ(3u, obj.attr.size);
  ASSERT_TRUE(dir.present);
  EXPECT_EQ(root.fileid, dir.attr.fileid);

  PostOp dir2;
  ASSERT_EQ(NFS3ERR_NOENT, c_->Lookup(root_, "nope", nullptr, nullptr, &dir2));
  ASSERT_TRUE(dir2.present) << "LOOKUP failure should carry dir attributes";
  EXPECT_EQ(root.fileid, dir2.attr.fileid);

  // "." is the directory itself.
  std::string self;
  ASSERT_EQ(NFS3_OK, c_->Lookup(root_, ".", &self));
  EXPECT_EQ(root_, self);
}

TEST_F(NfsProto, LookupDotDot) {
  // At the export root, ".." is the root itself.
  std::string up;
  PostOp obj;
  ASSERT_EQ(NFS3_OK, c_->Lookup(root_, "..", &up, &obj));
  EXPECT_EQ(root_, up);
  ASSERT_TRUE(obj.present);
  EXPECT_EQ(c_->Attr(root_).fileid, obj.attr.fileid);

  // Below it, the parent.
  std::string d = MakeDir(root_, "d");
  std::string e = MakeDir(d, "e");
  ASSERT_EQ(NFS3_OK, c_->Lookup(e, "..", &up));
  EXPECT_EQ(d, up);
  ASSERT_EQ(NFS3_OK, c_->Lookup(d, "..", &up));
  EXPECT_EQ(root_, up);
}

TEST_F(NfsProto, LookupErrors) {
  std::string f = MakeFile(root_, "f");
  EXPECT_EQ(NFS3ERR_NOTDIR, c_->Lookup(f, "x"));
  EXPECT_EQ(NFS3ERR_NAMETOOLONG, c_->Lookup(root_, std::string(256, 'a')));
  // 255 is still a legal name (just absent).
  EXPECT_EQ(NFS3ERR_NOENT, c_->Lookup(root_, std::string(255, 'a')));
}

// ================= ACCESS =================

TEST_F(NfsProto, AccessAsRoot) {
  std::string f644 = MakeFile(root_, "f644", 0644);
  std::string f755 = MakeFile(root_, "f755", 0755);
  std::string d = MakeDir(root_, "d", 0755);
  uint32_t got = 0;
  PostOp attr;
  ASSERT_EQ(NFS3_OK, c_->Access(f644, kAllAccess, &got, &attr));
  // Root: all but EXECUTE (no x bit); LOOKUP/DELETE are for directories.
  EXPECT_EQ(ACCESS3_READ | ACCESS3_MODIFY | ACCESS3_EXTEND, got);
  ASSERT_TRUE(attr.present);
  EXPECT_EQ(0644u, attr.attr.mode);

  ASSERT_EQ(NFS3_OK, c_->Access(f755, kAllAccess, &got));
  EXPECT_EQ(ACCESS3_READ | ACCESS3_MODIFY | ACCESS3_EXTEND | ACCESS3_EXECUTE,
            got);

  ASSERT_EQ(NFS3_OK, c_->Access(d, kAllAccess, &got));
  EXPECT_EQ(ACCESS3_READ | ACCESS3_LOOKUP | ACCESS3_MODIFY | ACCESS3_EXTEND |
                ACCESS3_DELETE,
            got);

  // Only what was asked is answered.
  ASSERT_EQ(NFS3_OK, c_->Access(f644, ACCESS3_READ, &got));
  EXPECT_EQ(static_cast<uint32_t>(ACCESS3_READ), got);
}

TEST_F(NfsProto, AccessAsUnprivilegedUser) {
  std::string f = MakeFile(root_, "f", 0644);
  std::string f600 = MakeFile(root_, "f600", 0600);
  std::string d = MakeDir(root_, "d", 0755);
  std::string open = MakeDir(root_, "open", 0777);
  auto user = ConnectAs(1000, 1000);
  uint32_t got = 0xffffffffu;
  ASSERT_EQ(NFS3_OK, user->Access(f, kAllAccess, &got));
  EXPECT_EQ(static_cast<uint32_t>(ACCESS3_READ), got);
  ASSERT_EQ(NFS3_OK, user->Access(d, kAllAccess, &got));
  EXPECT_EQ(static_cast<uint32_t>(ACCESS3_READ | ACCESS3_LOOKUP), got);
  ASSERT_EQ(NFS3_OK, user->Access(f600, kAllAccess, &got));
  EXPECT_EQ(0u, got);
  ASSERT_EQ(NFS3_OK, user->Access(open, kAllAccess, &got));
  EXPECT_EQ(ACCESS3_READ | ACCESS3_LOOKUP | ACCESS3_MODIFY | ACCESS3_EXTEND |
                ACCESS3_DELETE,
            got);
  // ACCESS's answer agrees with what the server then does.
  EXPECT_EQ(NFS3ERR_ACCES, user->Write(f, 0, "x", FILE_SYNC));
  EXPECT_EQ(NFS3ERR_ACCES, user->Read(f600, 0, 10));
  EXPECT_EQ(NFS3ERR_ACCES, user->Create(d, "x", GUARDED, ModeAttrs(0644)));
  EXPECT_EQ(NFS3_OK, user->Create(open, "x", GUARDED, ModeAttrs(0644)));
}

// ================= READLINK / READ / WRITE / COMMIT =================

TEST_F(NfsProto, ReadlinkReturnsTarget) {
  NewObj o;
  ASSERT_EQ(NFS3_OK, c_->Symlink(root_, "l", "some/where/else", &o));
  ASSERT_TRUE(o.fh.has_value());
  std::string target;
  PostOp attr;
  ASSERT_EQ(NFS3_OK, c_->Readlink(*o.fh, &target, &attr));
  EXPECT_EQ("some/where/else", target);
  ASSERT_TRUE(attr.present);
  EXPECT_EQ(NF3LNK, attr.attr.type);
  // READLINK of something that is not a symlink.
  std::string f = MakeFile(root_, "f");
  EXPECT_EQ(NFS3ERR_INVAL, c_->Readlink(f, &target));
}

TEST_F(NfsProto, ReadDataAndEof) {
  std::string fh = MakeFile(root_, "f", 0644, "hello world");
  std::string data;
  bool eof = true;
  uint32_t count = 0;
  ASSERT_EQ(NFS3_OK, c_->Read(fh, 0, 5, &data, &eof, &count));
  EXPECT_EQ("hello", data);
  EXPECT_EQ(5u, count);
  EXPECT_FALSE(eof);

  ASSERT_EQ(NFS3_OK, c_->Read(fh, 6, 100, &data, &eof, &count));
  EXPECT_EQ("world", data);
  EXPECT_EQ(5u, count);
  EXPECT_TRUE(eof) << "read reaching the end of file";

  // Exactly to the end.
  ASSERT_EQ(NFS3_OK, c_->Read(fh, 6, 5, &data, &eof));
  EXPECT_EQ("world", data);
  EXPECT_TRUE(eof);

  for (uint64_t off : {11ull, 12ull, 1ull << 40}) {
    eof = false;
    count = 99;
    ASSERT_EQ(NFS3_OK, c_->Read(fh, off, 10, &data, &eof, &count)) << off;
    EXPECT_EQ("", data) << off;
    EXPECT_EQ(0u, count) << off;
    EXPECT_TRUE(eof) << off;
  }
}

TEST_F(NfsProto, FullSizeWriteAndReadClampedToRtmax) {
  // A WRITE of wtmax bytes is accepted; a READ asking for more than rtmax
  // gets at most rtmax bytes (and no eof before the end).
  const uint32_t kMax = 1048576;
  std::string fh = MakeFile(root_, "big");
  std::string chunk(kMax, 'b');
  for (size_t i = 0; i < chunk.size(); i += 4096) chunk[i] = 'B';
  WriteOut w;
  ASSERT_EQ(NFS3_OK, c_->Write(fh, 0, chunk, UNSTABLE, &w));
  EXPECT_EQ(kMax, w.count);
  ASSERT_EQ(NFS3_OK, c_->Write(fh, kMax, "tail", UNSTABLE));
  std::string data;
  bool eof = true;
  uint32_t count = 0;
  ASSERT_EQ(NFS3_OK, c_->Read(fh, 0, 2 * kMax, &data, &eof, &count));
  EXPECT_GT(count, 0u);
  EXPECT_LE(count, kMax);
  EXPECT_EQ(count, data.size());
  EXPECT_FALSE(eof);
  EXPECT_EQ(chunk.substr(0, data.size()), data);
  ASSERT_EQ(NFS3_OK, c_->Read(fh, kMax, 100, &data, &eof));
  EXPECT_EQ("tail", data);
  EXPECT_TRUE(eof);
}

TEST_F(NfsProto, LargeReadsComeFromTheFileWithPaddingAndHoles) {
  // READs of 64 KiB and more send their data straight from the content
  // file (sendfile) behind the XDR results: odd lengths need the XDR
  // padding after the file bytes, a hole reads as zeros, and replies of
  // several calls on the connection stay in order.
  const size_t kLen = 200001;
  std::string fh = MakeFile(root_, "big");
  std::string pattern(kLen, '\0');
  for (size_t i = 0; i < kLen; ++i)
    pattern[i] = static_cast<char>('a' + i % 23);
  ASSERT_EQ(NFS3_OK, c_->Write(fh, 0, pattern, UNSTABLE));
  // A hole, then more data: [kLen, 2 * kLen) reads as zeros.
  ASSERT_EQ(NFS3_OK, c_->Write(fh, 2 * kLen, "end", UNSTABLE));
  std::string want = pattern + std::string(kLen, '\0') + "end";
  for (uint64_t off : {0ull, 1ull, 65537ull, 150000ull, 2ull * kLen - 70001}) {
    for (uint32_t count : {65536u, 65537u, 131071u, 400009u}) {
      std::string data;
      bool eof = false;
      uint32_t got = 0;
      ASSERT_EQ(NFS3_OK, c_->Read(fh, off, count, &data, &eof, &got))
          << off << "+" << count;
      size_t expect = std::min<size_t>(count, want.size() - off);
      ASSERT_EQ(expect, got) << off << "+" << count;
      ASSERT_EQ(want.substr(off, expect), data) << off << "+" << count;
      EXPECT_EQ(off + expect == want.size(), eof) << off << "+" << count;
    }
  }
  // The small calls in between still get their own replies.
  std::string data;
  ASSERT_EQ(NFS3_OK, c_->Read(fh, 2 * kLen, 100, &data));
  EXPECT_EQ("end", data);
}

TEST_F(NfsProto, ReadDirectoryIsIsdir) {
  std::string d = MakeDir(root_, "d");
  EXPECT_EQ(NFS3ERR_ISDIR, c_->Read(d, 0, 10));
  EXPECT_EQ(NFS3ERR_ISDIR, c_->Read(root_, 0, 10));
}

TEST_F(NfsProto, WriteStableHowAndWcc) {
  std::string fh = MakeFile(root_, "f");
  WriteOut w;
  ASSERT_EQ(NFS3_OK, c_->Write(fh, 0, "abcdef", UNSTABLE, &w));
  EXPECT_EQ(6u, w.count);
  EXPECT_EQ(UNSTABLE, w.committed);
  EXPECT_EQ(8u, w.verf.size());
  ASSERT_TRUE(w.wcc.before_present);
  EXPECT_EQ(0u, w.wcc.before.size);
  ASSERT_TRUE(w.wcc.after.present);
  EXPECT_EQ(6u, w.wcc.after.attr.size);

  WriteOut w2;
  ASSERT_EQ(NFS3_OK, c_->Write(fh, 3, "XYZ123", FILE_SYNC, &w2));
  EXPECT_EQ(6u, w2.count);
  EXPECT_EQ(FILE_SYNC, w2.committed);
  ASSERT_TRUE(w2.wcc.after.present);
  EXPECT_EQ(9u, w2.wcc.after.attr.size);

  WriteOut w3;
  ASSERT_EQ(NFS3_OK, c_->Write(fh, 9, "!", DATA_SYNC, &w3));
  EXPECT_NE(UNSTABLE, w3.committed) << "DATA_SYNC may not answer UNSTABLE";

  std::string data;
  ASSERT_EQ(NFS3_OK, c_->Read(fh, 0, 100, &data));
  EXPECT_EQ("abcXYZ123!", data);
}

TEST_F(NfsProto, WriteVerifierStableUntilRestart) {
  std::string fh = MakeFile(root_, "f");
  WriteOut a, b;
  ASSERT_EQ(NFS3_OK, c_->Write(fh, 0, "one", UNSTABLE, &a));
  ASSERT_EQ(NFS3_OK, c_->Write(fh, 3, "two", FILE_SYNC, &b));
  EXPECT_EQ(a.verf, b.verf);
  std::string commit_verf;
  Wcc cw;
  ASSERT_EQ(NFS3_OK, c_->Commit(fh, &commit_verf, &cw));
  EXPECT_EQ(a.verf, commit_verf);
  EXPECT_TRUE(cw.after.present);

  ASSERT_NO_FATAL_FAILURE(RestartDaemon());
  WriteOut c;
  ASSERT_EQ(NFS3_OK, c_->Write(fh, 6, "three", UNSTABLE, &c));
  EXPECT_NE(a.verf, c.verf) << "write verifier must change across restarts";
  ASSERT_EQ(NFS3_OK, c_->Commit(fh, &commit_verf));
  EXPECT_EQ(c.verf, commit_verf);
  std::string data;
  ASSERT_EQ(NFS3_OK, c_->Read(fh, 0, 100, &data));
  EXPECT_EQ("onetwothree", data);
}

TEST_F(NfsProto, WriteDirectoryIsIsdir) {
  std::string d = MakeDir(root_, "d");
  EXPECT_EQ(NFS3ERR_ISDIR, c_->Write(d, 0, "x", UNSTABLE));
  EXPECT_EQ(NFS3ERR_ISDIR, c_->Write(root_, 0, "x", FILE_SYNC));
}

TEST_F(NfsProto, CommitReturnsWriteVerifier) {
  std::string fh = MakeFile(root_, "f");
  WriteOut w;
  ASSERT_EQ(NFS3_OK, c_->Write(fh, 0, std::string(10000, 'q'), UNSTABLE, &w));
  std::string verf;
  Wcc wcc;
  ASSERT_EQ(NFS3_OK, c_->Commit(fh, &verf, &wcc));
  EXPECT_EQ(w.verf, verf);
  ASSERT_TRUE(wcc.after.present);
  EXPECT_EQ(10000u, wcc.after.attr.size);
  // Committing again without writes: same verifier.
  std::string again;
  ASSERT_EQ(NFS3_OK, c_->Commit(fh, &again));
  EXPECT_EQ(verf, again);
}

// ================= CREATE =================

TEST_F(NfsProto, CreateUnchecked) {
  NewObj a;
  ASSERT_EQ(NFS3_OK, c_->Create(root_, "u", UNCHECKED, ModeAttrs(0640), &a));
  ASSERT_TRUE(a.fh.has_value());
  ASSERT_TRUE(a.attr.present);
  EXPECT_EQ(NF3REG, a.attr.attr.type);
  EXPECT_EQ(0640u, a.attr.attr.mode);
  EXPECT_EQ(0u, a.attr.attr.size);
  EXPECT_TRUE(a.dir_wcc.before_present);
  EXPECT_TRUE(a.dir_wcc.after.present);
  ASSERT_EQ(NFS3_OK, c_->Write(*a.fh, 0, "data", FILE_SYNC));

  // Again, without size: the existing file, untouched.
  NewObj b;
  ASSERT_EQ(NFS3_OK, c_->Create(root_, "u", UNCHECKED, ModeAttrs(0640), &b));
  ASSERT_TRUE(b.fh.has_value());
  EXPECT_EQ(*a.fh, *b.fh);
  EXPECT_EQ(4u, c_->Attr(*a.fh).size);

  // Again with size 0: truncated.
  NewObj c;
  ASSERT_EQ(NFS3_OK, c_->Create(root_, "u", UNCHECKED, SizeAttrs(0), &c));
  ASSERT_TRUE(c.fh.has_value());
  EXPECT_EQ(*a.fh, *c.fh);
  if (c.attr.present) {
    EXPECT_EQ(0u, c.attr.attr.size);
  }
  EXPECT_EQ(0u, c_->Attr(*a.fh).size);
}

TEST_F(NfsProto, CreateGuarded) {
  NewObj a;
  ASSERT_EQ(NFS3_OK, c_->Create(root_, "g", GUARDED, ModeAttrs(0600), &a));
  ASSERT_TRUE(a.fh.has_value());
  ASSERT_TRUE(a.attr.present);
  EXPECT_EQ(0600u, a.attr.attr.mode);
  NewObj b;
  EXPECT_EQ(NFS3ERR_EXIST,
            c_->Create(root_, "g", GUARDED, ModeAttrs(0600), &b));
  EXPECT_TRUE(b.dir_wcc.after.present);
  // GUARDED over a directory too.
  MakeDir(root_, "d");
  EXPECT_EQ(NFS3ERR_EXIST, c_->Create(root_, "d", GUARDED, ModeAttrs(0600)));
  // Attributes given at creation: owner (as root) and size.
  sattr3 sa = ModeAttrs(0644);
  sa.uid.set_it = 1;
  sa.uid.set_uid3_u.uid = 4321;
  sa.size.set_it = 1;
  sa.size.set_size3_u.size = 7;
  NewObj c;
  ASSERT_EQ(NFS3_OK, c_->Create(root_, "h", GUARDED, sa, &c));
  ASSERT_TRUE(c.fh.has_value());
  fattr3 attr = c_->Attr(*c.fh);
  EXPECT_EQ(4321u, attr.uid);
  EXPECT_EQ(7u, attr.size);
}

TEST_F(NfsProto, CreateExclusive) {
  const std::string v1 = "ABCDEFGH", v2 = "12345678";
  NewObj a;
  ASSERT_EQ(NFS3_OK, c_->Create(root_, "x", EXCLUSIVE, NoAttrs(), &a, v1));
  ASSERT_TRUE(a.fh.has_value());
  // A retransmission (same verifier): success, same file.
  NewObj b;
  ASSERT_EQ(NFS3_OK, c_->Create(root_, "x", EXCLUSIVE, NoAttrs(), &b, v1));
  ASSERT_TRUE(b.fh.has_value());
  EXPECT_EQ(*a.fh, *b.fh);
  // Another client's create (other verifier): EXIST. Also when only one
  // half of the 8-byte verifier differs (in its low bits).
  EXPECT_EQ(NFS3ERR_EXIST,
            c_->Create(root_, "x", EXCLUSIVE, NoAttrs(), nullptr, v2));
  EXPECT_EQ(NFS3ERR_EXIST,
            c_->Create(root_, "x", EXCLUSIVE, NoAttrs(), nullptr, "ABCDEFGI"));
  EXPECT_EQ(NFS3ERR_EXIST,
            c_->Create(root_, "x", EXCLUSIVE, NoAttrs(), nullptr, "ABCEEFGH"));
  // The retransmission is still recognised after those attempts.
  NewObj c;
  ASSERT_EQ(NFS3_OK, c_->Create(root_, "x", EXCLUSIVE, NoAttrs(), &c, v1));
  ASSERT_TRUE(c.fh.has_value());
  EXPECT_EQ(*a.fh, *c.fh);
  // EXCLUSIVE over a file made otherwise: EXIST.
  MakeFile(root_, "plain");
  EXPECT_EQ(NFS3ERR_EXIST,
            c_->Create(root_, "plain", EXCLUSIVE, NoAttrs(), nullptr, v1));
}

// ================= MKDIR / SYMLINK / MKNOD =================

TEST_F(NfsProto, Mkdir) {
  NewObj o;
  ASSERT_EQ(NFS3_OK, c_->Mkdir(root_, "d", 0750, &o));
  ASSERT_TRUE(o.fh.has_value());
  EXPECT_EQ(28u, o.fh->size());
  ASSERT_TRUE(o.attr.present);
  EXPECT_EQ(NF3DIR, o.attr.attr.type);
  EXPECT_EQ(0750u, o.attr.attr.mode);
  EXPECT_EQ(2u, o.attr.attr.nlink);
  ASSERT_TRUE(o.dir_wcc.after.present);
  EXPECT_EQ(3u, o.dir_wcc.after.attr.nlink);
  EXPECT_EQ(*o.fh, c_->Handle(root_, "d"));

  NewObj again;
  EXPECT_EQ(NFS3ERR_EXIST, c_->Mkdir(root_, "d", 0750, &again));
  EXPECT_TRUE(again.dir_wcc.after.present);
  MakeFile(root_, "f");
  EXPECT_EQ(NFS3ERR_EXIST, c_->Mkdir(root_, "f", 0755));
  EXPECT_EQ(NFS3ERR_NOTDIR, c_->Mkdir(c_->Handle(root_, "f"), "x", 0755));
  EXPECT_EQ(NFS3ERR_NAMETOOLONG, c_->Mkdir(root_, std::string(256, 'n'), 0755));
}

TEST_F(NfsProto, Symlink) {
  NewObj o;
  ASSERT_EQ(NFS3_OK, c_->Symlink(root_, "l", "../target/path", &o));
  ASSERT_TRUE(o.fh.has_value());
  ASSERT_TRUE(o.attr.present);
  EXPECT_EQ(NF3LNK, o.attr.attr.type);
  EXPECT_EQ(14u, o.attr.attr.size) << "a symlink's size is its target length";
  std::string target;
  ASSERT_EQ(NFS3_OK, c_->Readlink(*o.fh, &target));
  EXPECT_EQ("../target/path", target);
  // LOOKUP does not follow it.
  PostOp attr;
  ASSERT_EQ(NFS3_OK, c_->Lookup(root_, "l", nullptr, &attr));
  ASSERT_TRUE(attr.present);
  EXPECT_EQ(NF3LNK, attr.attr.type);
  EXPECT_EQ(NFS3ERR_EXIST, c_->Symlink(root_, "l", "other"));
}

TEST_F(NfsProto, MknodTypes) {
  NewObj fifo, sock, chr;
  ASSERT_EQ(NFS3_OK, c_->Mknod(root_, "fifo", NF3FIFO, 0, 0, &fifo));
  ASSERT_TRUE(fifo.attr.present);
  EXPECT_EQ(NF3FIFO, fifo.attr.attr.type);
  EXPECT_EQ(0644u, fifo.attr.attr.mode);
  ASSERT_TRUE(fifo.fh.has_value());
  EXPECT_EQ(NF3FIFO, c_->Attr(*fifo.fh).type);

  ASSERT_EQ(NFS3_OK, c_->Mknod(root_, "sock", NF3SOCK, 0, 0, &sock));
  ASSERT_TRUE(sock.attr.present);
  EXPECT_EQ(NF3SOCK, sock.attr.attr.type);

  ASSERT_EQ(NFS3_OK, c_->Mknod(root_, "chr", NF3CHR, 1, 3, &chr));
  ASSERT_TRUE(chr.attr.present);
  EXPECT_EQ(NF3CHR, chr.attr.attr.type);
  EXPECT_EQ(1u, chr.attr.attr.rdev.specdata1);
  EXPECT_EQ(3u, chr.attr.attr.rdev.specdata2);
  ASSERT_TRUE(chr.fh.has_value());
  fattr3 a = c_->Attr(*chr.fh);
  EXPECT_EQ(1u, a.rdev.specdata1);
  EXPECT_EQ(3u, a.rdev.specdata2);

  NewObj blk;
  ASSERT_EQ(NFS3_OK, c_->Mknod(root_, "blk", NF3BLK, 8, 1, &blk));
  ASSERT_TRUE(blk.attr.present);
  EXPECT_EQ(NF3BLK, blk.attr.attr.type);
  EXPECT_EQ(8u, blk.attr.attr.rdev.specdata1);
  EXPECT_EQ(1u, blk.attr.attr.rdev.specdata2);

  EXPECT_EQ(NFS3ERR_EXIST, c_->Mknod(root_, "fifo", NF3FIFO));
}

TEST_F(NfsProto, MknodBadTypeAndDeviceAsUser) {
  EXPECT_EQ(NFS3ERR_BADTYPE, c_->Mknod(root_, "r", NF3REG));
  EXPECT_EQ(NFS3ERR_BADTYPE, c_->Mknod(root_, "d", NF3DIR));
  EXPECT_EQ(NFS3ERR_BADTYPE, c_->Mknod(root_, "l", NF3LNK));
  EXPECT_EQ(NFS3ERR_NOENT, c_->Lookup(root_, "r"));
  // Devices need root; FIFOs do not.
  std::string open = MakeDir(root_, "open", 0777);
  auto user = ConnectAs(1000, 1000);
  EXPECT_EQ(NFS3ERR_PERM, user->Mknod(open, "chr", NF3CHR, 1, 3));
  EXPECT_EQ(NFS3_OK, user->Mknod(open, "fifo", NF3FIFO));
}

// ================= REMOVE / RMDIR =================

TEST_F(NfsProto, Remove) {
  MakeFile(root_, "f");
  Wcc w;
  ASSERT_EQ(NFS3_OK, c_->Remove(root_, "f", &w));
  EXPECT_TRUE(w.before_present);
  EXPECT_TRUE(w.after.present);
  EXPECT_EQ(NFS3ERR_NOENT, c_->Lookup(root_, "f"));
  Wcc w2;
  EXPECT_EQ(NFS3ERR_NOENT, c_->Remove(root_, "f", &w2));
  EXPECT_TRUE(w2.after.present);
  EXPECT_EQ(NFS3ERR_NOTDIR, c_->Remove(MakeFile(root_, "g"), "x"));
}

TEST_F(NfsProto, Rmdir) {
  std::string d = MakeDir(root_, "d");
  MakeFile(d, "inner");
  Wcc w;
  EXPECT_EQ(NFS3ERR_NOTEMPTY, c_->Rmdir(root_, "d", &w));
  EXPECT_TRUE(w.after.present);
  MakeFile(root_, "f");
  EXPECT_EQ(NFS3ERR_NOTDIR, c_->Rmdir(root_, "f"));
  EXPECT_EQ(NFS3ERR_NOENT, c_->Rmdir(root_, "missing"));
  ASSERT_EQ(NFS3_OK, c_->Remove(d, "inner"));
  EXPECT_EQ(3u, c_->Attr(root_).nlink);
  ASSERT_EQ(NFS3_OK, c_->Rmdir(root_, "d", &w));
  ASSERT_TRUE(w.after.present);
  EXPECT_EQ(2u, w.after.attr.nlink);
  EXPECT_EQ(NFS3ERR_NOENT, c_->Lookup(root_, "d"));
}

// ================= RENAME =================

TEST_F(NfsProto, RenamePlainAndOverFile) {
  std::string a = MakeFile(root_, "a", 0644, "AAA");
  uint64_t a_id = c_->Attr(a).fileid;
  Wcc fw, tw;
  ASSERT_EQ(NFS3_OK, c_->Rename(root_, "a", root_, "b", &fw, &tw));
  EXPECT_TRUE(fw.after.present);
  EXPECT_TRUE(tw.after.present);
  EXPECT_EQ(NFS3ERR_NOENT, c_->Lookup(root_, "a"));
  PostOp attr;
  ASSERT_EQ(NFS3_OK, c_->Lookup(root_, "b", nullptr, &attr));
  EXPECT_EQ(a_id, attr.attr.fileid);
  EXPECT_EQ(NF3REG, c_->Attr(a).type) << "handle survives the rename";

  // Over an existing file: the target is replaced, its handle goes stale.
  std::string c = MakeFile(root_, "c", 0644, "CCCCC");
  uint64_t c_id = c_->Attr(c).fileid;
  ASSERT_EQ(NFS3_OK, c_->Rename(root_, "c", root_, "b"));
  ASSERT_EQ(NFS3_OK, c_->Lookup(root_, "b", nullptr, &attr));
  EXPECT_EQ(c_id, attr.attr.fileid);
  EXPECT_EQ(5u, attr.attr.size);
  EXPECT_EQ(NFS3ERR_STALE, c_->Getattr(a));

  // Across directories.
  std::string d = MakeDir(root_, "d");
  ASSERT_EQ(NFS3_OK, c_->Rename(root_, "b", d, "moved"));
  ASSERT_EQ(NFS3_OK, c_->Lookup(d, "moved", nullptr, &attr));
  EXPECT_EQ(c_id, attr.attr.fileid);
  EXPECT_EQ(NFS3ERR_NOENT, c_->Rename(root_, "b", root_, "z"));
}

TEST_F(NfsProto, RenameErrors) {
  std::string src = MakeDir(root_, "src");
  std::string dst = MakeDir(root_, "dst");
  MakeFile(dst, "occupant");
  MakeFile(root_, "file");
  // Directory over a non-empty directory: rename(2) gives ENOTEMPTY.
  EXPECT_EQ(NFS3ERR_NOTEMPTY, c_->Rename(root_, "src", root_, "dst"));
  // Directory over a file: ENOTDIR; file over a directory: EISDIR.
  EXPECT_EQ(NFS3ERR_NOTDIR, c_->Rename(root_, "src", root_, "file"));
  EXPECT_EQ(NFS3ERR_ISDIR, c_->Rename(root_, "file", root_, "src"));
  // A directory into itself: EINVAL.
  EXPECT_EQ(NFS3ERR_INVAL, c_->Rename(root_, "src", src, "inside"));
  // Directory over an empty directory: allowed.
  MakeDir(root_, "empty");
  uint64_t src_id = c_->Attr(src).fileid;
  ASSERT_EQ(NFS3_OK, c_->Rename(root_, "src", root_, "empty"));
  PostOp attr;
  ASSERT_EQ(NFS3_OK, c_->Lookup(root_, "empty", nullptr, &attr));
  EXPECT_EQ(src_id, attr.attr.fileid);
}

// ================= LINK =================

TEST_F(NfsProto, Link) {
  std::string f = MakeFile(root_, "f", 0644, "x");
  std::string d = MakeDir(root_, "d");
  PostOp fa;
  Wcc w;
  ASSERT_EQ(NFS3_OK, c_->Link(f, d, "h", &fa, &w));
  ASSERT_TRUE(fa.present);
  EXPECT_EQ(2u, fa.attr.nlink);
  EXPECT_TRUE(w.after.present);
  EXPECT_EQ(2u, c_->Attr(f).nlink);
  EXPECT_EQ(f, c_->Handle(d, "h"));

  EXPECT_EQ(NFS3ERR_EXIST, c_->Link(f, root_, "f"));
  // A hard link to a directory: link(2) gives EPERM.
  EXPECT_EQ(NFS3ERR_PERM, c_->Link(d, root_, "dirlink"));
  EXPECT_EQ(NFS3ERR_NOTDIR, c_->Link(f, f, "x"));

  ASSERT_EQ(NFS3_OK, c_->Remove(root_, "f"));
  EXPECT_EQ(1u, c_->Attr(f).nlink) << "still reachable through the link";
}

// ================= READDIR / READDIRPLUS =================

class NfsProtoDir : public NfsProto {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(NfsProto::SetUp());
    dir_ = MakeDir(root_, "rd");
    for (int i = 0; i < kFiles; ++i) {
      char name[8];
      std::snprintf(name, sizeof(name), "f%02d", i);
      MakeFile(dir_, name);
    }
  }
  static constexpr int kFiles = 22;
  std::string dir_;
};

TEST_F(NfsProtoDir, ReaddirOneCall) {
  DirPage p;
  ASSERT_EQ(NFS3_OK, c_->Readdir(dir_, 0, std::string(8, '\0'), 65536, &p));
  EXPECT_TRUE(p.eof);
  ASSERT_TRUE(p.dir_attr.present);
  EXPECT_EQ(NF3DIR, p.dir_attr.attr.type);
  std::map<std::string, uint64_t> ids;
  std::set<uint64_t> cookies;
  for (const DirEntry& e : p.entries) {
    EXPECT_TRUE(ids.emplace(e.name, e.fileid).second) << "twice: " << e.name;
    EXPECT_TRUE(cookies.insert(e.cookie).second) << "cookie reused";
    EXPECT_NE(0u, e.cookie);
  }
  EXPECT_EQ(static_cast<size_t>(kFiles + 2), p.entries.size());
  ASSERT_TRUE(ids.count("."));
  ASSERT_TRUE(ids.count(".."));
  EXPECT_EQ(c_->Attr(dir_).fileid, ids["."]);
  EXPECT_EQ(c_->Attr(root_).fileid, ids[".."]);
  EXPECT_EQ(c_->Attr(c_->Handle(dir_, "f07")).fileid, ids["f07"]);

  // The export root: ".." is the root itself.
  DirPage r;
  ASSERT_EQ(NFS3_OK, c_->Readdir(root_, 0, std::string(8, '\0'), 65536, &r));
  uint64_t root_id = c_->Attr(root_).fileid;
  int seen = 0;
  for (const DirEntry& e : r.entries) {
    if (e.name == "." || e.name == "..") {
      EXPECT_EQ(root_id, e.fileid) << e.name;
      ++seen;
    }
  }
  EXPECT_EQ(2, seen);
}

TEST_F(NfsProtoDir, ReaddirCookiesResume) {
  std::vector<DirEntry> whole = ListAll(dir_, false, 65536);
  int calls = 0;
  std::vector<DirEntry> paged = ListAll(dir_, false, 300, &calls);
  EXPECT_GE(calls, 3) << "count 300 should need several calls";
  ASSERT_EQ(whole.size(), paged.size());
  for (size_t i = 0; i < whole.size(); ++i) {
    EXPECT_EQ(whole[i].name, paged[i].name) << i;
    EXPECT_EQ(whole[i].fileid, paged[i].fileid) << i;
    EXPECT_EQ(whole[i].cookie, paged[i].cookie) << i;
  }
}

TEST_F(NfsProtoDir, ReaddirplusAttributesAndHandles) {
  int calls = 0;
  std::vector<DirEntry> all = ListAll(dir_, true, 500, &calls);
  EXPECT_GE(calls, 2);
  std::vector<DirEntry> whole = ListAll(dir_, false, 65536);
  ASSERT_EQ(whole.size(), all.size());
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(whole[i].name, all[i].name);
  }
  std::set<std::string> names;
  for (const DirEntry& e : all) {
    names.insert(e.name);
    ASSERT_TRUE(e.attr.present) << e.name << ": no attributes";
    EXPECT_EQ(e.fileid, e.attr.attr.fileid) << e.name;
    ASSERT_TRUE(e.fh.has_value()) << e.name << ": no handle";
    EXPECT_EQ(28u, e.fh->size());
    fattr3 a = c_->Attr(*e.fh);
    EXPECT_EQ(e.fileid, a.fileid) << e.name;
    if (e.name == ".") {
      EXPECT_EQ(dir_, *e.fh);
    } else if (e.name == "..") {
      EXPECT_EQ(root_, *e.fh);
    } else {
      EXPECT_EQ(NF3REG, e.attr.attr.type);
      EXPECT_EQ(c_->Handle(dir_, e.name), *e.fh);
    }
  }
  EXPECT_EQ(static_cast<size_t>(kFiles + 2), names.size());
}

TEST_F(NfsProtoDir, ReaddirErrors) {
  DirPage p;
  const std::string zero(8, '\0');
  EXPECT_EQ(NFS3ERR_TOOSMALL, c_->Readdir(dir_, 0, zero, 50, &p));
  EXPECT_EQ(NFS3ERR_TOOSMALL, c_->Readdirplus(dir_, 0, zero, 50, 50, &p));
  std::string f = c_->Handle(dir_, "f00");
  EXPECT_EQ(NFS3ERR_NOTDIR, c_->Readdir(f, 0, zero, 4096, &p));
  EXPECT_EQ(NFS3ERR_NOTDIR, c_->Readdirplus(f, 0, zero, 4096, 4096, &p));

  // A cookie with somebody else's verifier.
  ASSERT_EQ(NFS3_OK, c_->Readdir(dir_, 0, zero, 300, &p));
  ASSERT_FALSE(p.eof);
  ASSERT_FALSE(p.entries.empty());
  std::string bad = p.verf;
  bad[0] ^= 0x5a;
  EXPECT_EQ(NFS3ERR_BAD_COOKIE,
            c_->Readdir(dir_, p.entries.back().cookie, bad, 4096, nullptr));
}

// ================= FSSTAT / FSINFO / PATHCONF =================

TEST_F(NfsProto, Fsstat) {
  FSSTAT3resok s{};
  ASSERT_EQ(NFS3_OK, c_->Fsstat(root_, &s));
  EXPECT_TRUE(s.obj_attributes.attributes_follow);
  EXPECT_GT(s.tbytes, 0u);
  EXPECT_LE(s.fbytes, s.tbytes);
  EXPECT_LE(s.abytes, s.fbytes);
  EXPECT_GT(s.tfiles, 0u);
  EXPECT_LE(s.ffiles, s.tfiles);
  EXPECT_LE(s.afiles, s.ffiles);
  // Also answers on any handle of the file system.
  std::string f = MakeFile(root_, "f");
  EXPECT_EQ(NFS3_OK, c_->Fsstat(f, &s));
}

TEST_F(NfsProto, Fsinfo) {
  FSINFO3resok i{};
  ASSERT_EQ(NFS3_OK, c_->Fsinfo(root_, &i));
  EXPECT_TRUE(i.obj_attributes.attributes_follow);
  EXPECT_EQ(1048576u, i.rtmax);
  EXPECT_EQ(1048576u, i.wtmax);
  EXPECT_GT(i.rtpref, 0u);
  EXPECT_LE(i.rtpref, i.rtmax);
  EXPECT_GT(i.wtpref, 0u);
  EXPECT_LE(i.wtpref, i.wtmax);
  EXPECT_GT(i.dtpref, 0u);
  EXPECT_GE(i.maxfilesize, 1ull << 40);
  EXPECT_LT(i.time_delta.nseconds, 1000000000u);
  constexpr uint32_t kWant =
      FSF3_LINK | FSF3_SYMLINK | FSF3_HOMOGENEOUS | FSF3_CANSETTIME;
  EXPECT_EQ(kWant, i.properties & kWant);
}

TEST_F(NfsProto, Pathconf) {
  PATHCONF3resok p{};
  ASSERT_EQ(NFS3_OK, c_->Pathconf(root_, &p));
  EXPECT_TRUE(p.obj_attributes.attributes_follow);
  EXPECT_EQ(255u, p.name_max);
  EXPECT_TRUE(p.no_trunc);
  EXPECT_TRUE(p.case_preserving);
  EXPECT_FALSE(p.case_insensitive);
  EXPECT_TRUE(p.chown_restricted);
  EXPECT_GE(p.linkmax, 1u);
}

// ================= file handles =================

TEST_F(NfsProto, CorruptHandlesAreBadhandle) {
  std::string f = MakeFile(root_, "f", 0644, "x");
  ASSERT_EQ(28u, f.size());
  // One byte flipped anywhere: header, export id, inode, generation, MAC.
  for (size_t i : {0u, 2u, 5u, 11u, 17u, 22u, 27u}) {
    std::string bad = f;
    bad[i] ^= 0x01;
    EXPECT_EQ(NFS3ERR_BADHANDLE, c_->Getattr(bad)) << "byte " << i;
  }
  EXPECT_EQ(NFS3ERR_BADHANDLE, c_->Getattr(f.substr(0, 27)));
  EXPECT_EQ(NFS3ERR_BADHANDLE, c_->Getattr(f.substr(0, 8)));
  EXPECT_EQ(NFS3ERR_BADHANDLE, c_->Getattr(""));
  EXPECT_EQ(NFS3ERR_BADHANDLE, c_->Getattr(f + "x"));
  // Other procedures check the same way.
  std::string bad = f;
  bad[20] ^= 0x80;
  EXPECT_EQ(NFS3ERR_BADHANDLE, c_->Read(bad, 0, 1));
  EXPECT_EQ(NFS3ERR_BADHANDLE, c_->Lookup(bad, "x"));
  EXPECT_EQ(NFS3ERR_BADHANDLE, c_->Write(bad, 0, "y", UNSTABLE));
  EXPECT_EQ(NFS3ERR_BADHANDLE, c_->Setattr(bad, ModeAttrs(0600)));
  // The real one still works.
  EXPECT_EQ(NFS3_OK, c_->Getattr(f));
}

TEST_F(NfsProto, RemovedFileHandleIsStale) {
  std::string f = MakeFile(root_, "f", 0644, "x");
  std::string d = MakeDir(root_, "d");
  ASSERT_EQ(NFS3_OK, c_->Remove(root_, "f"));
  ASSERT_EQ(NFS3_OK, c_->Rmdir(root_, "d"));
  EXPECT_EQ(NFS3ERR_STALE, c_->Getattr(f));
  EXPECT_EQ(NFS3ERR_STALE, c_->Read(f, 0, 1));
  EXPECT_EQ(NFS3ERR_STALE, c_->Write(f, 0, "y", FILE_SYNC));
  EXPECT_EQ(NFS3ERR_STALE, c_->Getattr(d));
  EXPECT_EQ(NFS3ERR_STALE, c_->Lookup(d, "x"));
  EXPECT_EQ(NFS3ERR_STALE, c_->Create(d, "x", GUARDED, ModeAttrs(0644)));
  // A new file with the same name has another handle.
  std::string again = MakeFile(root_, "f");
  EXPECT_NE(f, again);
  EXPECT_EQ(NFS3ERR_STALE, c_->Getattr(f));
}

TEST_F(NfsProto, HandlesSurviveRestart) {
  std::string f = MakeFile(root_, "f", 0644, "persist");
  std::string d = MakeDir(root_, "d");
  std::string old_root = root_;
  fattr3 before = c_->Attr(f);
  ASSERT_NO_FATAL_FAILURE(RestartDaemon());
  EXPECT_EQ(old_root, root_) << "MNT gives the same root handle";
  fattr3 after{};
  ASSERT_EQ(NFS3_OK, c_->Getattr(f, &after));
  EXPECT_EQ(before.fileid, after.fileid);
  EXPECT_EQ(7u, after.size);
  std::string data;
  ASSERT_EQ(NFS3_OK, c_->Read(f, 0, 100, &data));
  EXPECT_EQ("persist", data);
  EXPECT_EQ(NFS3_OK, c_->Getattr(d));
  EXPECT_EQ(NFS3_OK, c_->Getattr(old_root));
  EXPECT_EQ(f, c_->Handle(old_root, "f"));
}

// ================= RPC level =================

TEST_F(NfsProto, UnknownProcedureIsProcUnavail) {
  for (int proc : {22, 99}) {
    std::string err;
    EXPECT_EQ(RPC_STATUS_ERROR,
              CallNoArgs(c_->rpc(), NFS_PROGRAM, NFS_V3, proc, &err))
        << proc;
    EXPECT_NE(std::string::npos, err.find("Procedure not available"))
        << "proc " << proc << ": " << err;
  }
  // MOUNT v3 has procedures 0-5.
  std::string err;
  EXPECT_EQ(RPC_STATUS_ERROR,
            CallNoArgs(mnt_->rpc(), MOUNT_PROGRAM, MOUNT_V3, 6, &err));
  EXPECT_NE(std::string::npos, err.find("Procedure not available")) << err;
  // The connection is still usable.
  EXPECT_TRUE(c_->Null());
  EXPECT_EQ(NFS3_OK, c_->Getattr(root_));
  // And the known NULL procedure through the same path succeeds.
  EXPECT_EQ(RPC_STATUS_SUCCESS,
            CallNoArgs(c_->rpc(), NFS_PROGRAM, NFS_V3, 0, nullptr));
}

}  // namespace
}  // namespace cfs_nfs_test
