// User-level NFSv3 scenarios against the real daemon, driven through libnfs
// (a client nobody here wrote): export rules (read-only, squashing, client
// addresses, secure ports), files beyond 4 GiB, a directory of 10,000
// entries, file handles across restarts and crashes, FUSE <-> NFS
// visibility in both directions, and several clients at once.
//
// The high-level libnfs API (nfs_context) is what an application sees; the
// raw API (rpc_nfs3_*_async, driven synchronously by `Nfs3` below) is used
// where the exact nfsstat3 / mountstat3 matters or where the test needs the
// wire-level view (handles, cookies).
#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <vector>

#include "tests/integration/nfs/nfs_fixture.h"

namespace cfs_nfs_test {
namespace {

using Fh = std::string;  // an NFS file handle's bytes

constexpr uint64_t kGiB = 1ULL << 30;

nfs_fh3 ToFh3(const Fh& fh) {
  nfs_fh3 r{};
  r.data.data_len = static_cast<u_int>(fh.size());
  r.data.data_val = const_cast<char*>(fh.data());
  return r;
}
Fh FromFh3(const nfs_fh3& fh) { return Fh(fh.data.data_val, fh.data.data_len); }

// Every NFSv3 result starts with its nfsstat3.
int StatusOf(void* data) {
  return static_cast<int>(*static_cast<nfsstat3*>(data));
}

uint64_t Nanos(const nfstime3& t) {
  return static_cast<uint64_t>(t.seconds) * 1000000000ULL + t.nseconds;
}

// The local (source) port of a connected socket.
uint16_t LocalPort(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof(a);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) return 0;
  return ntohs(a.sin_port);
}

// Runs `rpc`'s event loop until `done()` (true) or the timeout (false).
bool Pump(struct rpc_context* rpc, const std::function<bool()>& done,
          int timeout_ms = 60000) {
  auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    pollfd p{rpc_get_fd(rpc), static_cast<short>(rpc_which_events(rpc)), 0};
    int n = ::poll(&p, 1, 100);
    if (n < 0) return false;
    if (rpc_service(rpc, n > 0 ? p.revents : 0) < 0) return false;
  }
  return true;
}

// Where a raw connection comes from. By default libnfs, running as root,
// binds a reserved port (512..1023) on 127.0.0.1; with `ephemeral` or
// another address the socket is replaced by one bound to `address` with a
// kernel-chosen (non-reserved) port.
struct Source {
  std::string address = "127.0.0.1";
  bool ephemeral = false;
};

// One synchronous raw NFSv3 or MOUNTv3 connection. Each call returns the
// nfsstat3 / mountstat3 of the reply, or -1 when the RPC itself failed.
class Nfs3 {
 public:
  bool Connect(uint16_t port, int program = NFS_PROGRAM, int version = NFS_V3,
               const Source& src = {}) {
    if (!rpc_.Connect(port, program, version)) {
      ADD_FAILURE() << "raw connect: " << RpcErr();
      return false;
    }
    if (src.ephemeral || src.address != "127.0.0.1") {
      // Swap the socket under libnfs for one from the wanted source, keeping
      // the descriptor number libnfs knows.
      int s = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      ::inet_pton(AF_INET, src.address.c_str(), &a.sin_addr);
      if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
        ADD_FAILURE() << "bind " << src.address << ": " << strerror(errno);
        ::close(s);
        return false;
      }
      sockaddr_in d{};
      d.sin_family = AF_INET;
      d.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      d.sin_port = htons(port);
      if (::connect(s, reinterpret_cast<sockaddr*>(&d), sizeof(d)) != 0) {
        ADD_FAILURE() << "connect from " << src.address << ": "
                      << strerror(errno);
        ::close(s);
        return false;
      }
      ::fcntl(s, F_SETFL, ::fcntl(s, F_GETFL) | O_NONBLOCK);
      int fd = rpc_get_fd(rpc_.get());
      ::dup2(s, fd);
      ::close(s);
    }
    return true;
  }
  uint16_t local_port() { return LocalPort(rpc_get_fd(rpc_.get())); }
  void SetIds(int uid, int gid) {
    rpc_set_uid(rpc_.get(), uid);
    rpc_set_gid(rpc_.get(), gid);
  }
  struct rpc_context* rpc() {
    return rpc_.get();
  }

  int Mnt(const std::string& path, Fh* fh) {
    std::string p = path;
    int st = -1;
    Run([&](rpc_context* r, rpc_cb cb,
            void* priv) { return rpc_mount3_mnt_async(r, cb, p.data(), priv); },
        [&](void* data) {
          auto* res = static_cast<mountres3*>(data);
          st = res->fhs_status;
          if (st == MNT3_OK && fh != nullptr) {
            const fhandle3& h = res->mountres3_u.mountinfo.fhandle;
            *fh = Fh(h.fhandle3_val, h.fhandle3_len);
          }
        });
    return st;
  }

  int Getattr(const Fh& fh, fattr3* attr = nullptr) {
    GETATTR3args args{};
    args.object = ToFh3(fh);
    return Do(
        [&](rpc_context* r, rpc_cb cb, void* priv) {
          return rpc_nfs3_getattr_async(r, cb, &args, priv);
        },
        [&](void* data) {
          auto* res = static_cast<GETATTR3res*>(data);
          if (attr != nullptr && res->status == NFS3_OK) {
            *attr = res->GETATTR3res_u.resok.obj_attributes;
          }
        });
  }

  int Lookup(const Fh& dir, const std::string& name, Fh* out = nullptr,
             fattr3* attr = nullptr) {
    LOOKUP3args args{};
    args.what.dir = ToFh3(dir);
    std::string n = name;
    args.what.name = n.data();
    return Do(
        [&](rpc_context* r, rpc_cb cb, void* priv) {
          return rpc_nfs3_lookup_async(r, cb, &args, priv);
        },
        [&](void* data) {
          auto* res = static_cast<LOOKUP3res*>(data);
          if (res->status != NFS3_OK) return;
          if (out != nullptr) *out = FromFh3(res->LOOKUP3res_u.resok.object);
          const post_op_attr& a = res->LOOKUP3res_u.resok.obj_attributes;
          if (attr != nullptr && a.attributes_follow) {
            *attr = a.post_op_attr_u.attributes;
          }
        });
  }

  int Read(const Fh& fh, uint64_t off, uint32_t count, std::string* out) {
    READ3args args{};
    args.file = ToFh3(fh);
    args.offset = off;
    args.count = count;
    return Do(
        [&](rpc_context* r, rpc_cb cb, void* priv) {
          return rpc_nfs3_read_async(r, cb, &args, priv);
        },
        [&](void* data) {
          auto* res = static_cast<READ3res*>(data);
          if (res->status == NFS3_OK && out != nullptr) {
            const READ3resok& ok = res->READ3res_u.resok;
            *out = std::string(ok.data.data_val, ok.data.data_len);
          }
        });
  }

  int Write(const Fh& fh, uint64_t off, std::string_view bytes,
            stable_how stable = FILE_SYNC) {
    WRITE3args args{};
    args.file = ToFh3(fh);
    args.offset = off;
    args.count = static_cast<count3>(bytes.size());
    args.stable = stable;
    args.data.data_len = static_cast<u_int>(bytes.size());
    args.data.data_val = const_cast<char*>(bytes.data());
    return Do([&](rpc_context* r, rpc_cb cb, void* priv) {
      return rpc_nfs3_write_async(r, cb, &args, priv);
    });
  }

  int Create(const Fh& dir, const std::string& name, uint32_t mode,
             Fh* out = nullptr, fattr3* attr = nullptr) {
    CREATE3args args{};
    args.where.dir = ToFh3(dir);
    std::string n = name;
    args.where.name = n.data();
    args.how.mode = UNCHECKED;
    args.how.createhow3_u.obj_attributes.mode.set_it = 1;
    args.how.createhow3_u.obj_attributes.mode.set_mode3_u.mode = mode;
    return Do(
        [&](rpc_context* r, rpc_cb cb, void* priv) {
          return rpc_nfs3_create_async(r, cb, &args, priv);
        },
        [&](void* data) {
          auto* res = static_cast<CREATE3res*>(data);
          if (res->status != NFS3_OK) return;
          const CREATE3resok& ok = res->CREATE3res_u.resok;
          if (out != nullptr && ok.obj.handle_follows) {
            *out = FromFh3(ok.obj.post_op_fh3_u.handle);
          }
          if (attr != nullptr && ok.obj_attributes.attributes_follow) {
            *attr = ok.obj_attributes.post_op_attr_u.attributes;
          }
        });
  }

  int Mkdir(const Fh& dir, const std::string& name, uint32_t mode = 0755) {
    MKDIR3args args{};
    args.where.dir = ToFh3(dir);
    std::string n = name;
    args.where.name = n.data();
    args.attributes.mode.set_it = 1;
    args.attributes.mode.set_mode3_u.mode = mode;
    return Do([&](rpc_context* r, rpc_cb cb, void* priv) {
      return rpc_nfs3_mkdir_async(r, cb, &args, priv);
    });
  }

  int Symlink(const Fh& dir, const std::string& name,
              const std::string& target) {
    SYMLINK3args args{};
    args.where.dir = ToFh3(dir);
    std::string n = name, t = target;
    args.where.name = n.data();
    args.symlink.symlink_data = t.data();
    return Do([&](rpc_context* r, rpc_cb cb, void* priv) {
      return rpc_nfs3_symlink_async(r, cb, &args, priv);
    });
  }

  int Link(const Fh& file, const Fh& dir, const std::string& name) {
    LINK3args args{};
    args.file = ToFh3(file);
    args.link.dir = ToFh3(dir);
    std::string n = name;
    args.link.name = n.data();
    return Do([&](rpc_context* r, rpc_cb cb, void* priv) {
      return rpc_nfs3_link_async(r, cb, &args, priv);
    });
  }

  int Remove(const Fh& dir, const std::string& name) {
    REMOVE3args args{};
    args.object.dir = ToFh3(dir);
    std::string n = name;
    args.object.name = n.data();
    return Do([&](rpc_context* r, rpc_cb cb, void* priv) {
      return rpc_nfs3_remove_async(r, cb, &args, priv);
    });
  }

  int Rmdir(const Fh& dir, const std::string& name) {
    RMDIR3args args{};
    args.object.dir = ToFh3(dir);
    std::string n = name;
    args.object.name = n.data();
    return Do([&](rpc_context* r, rpc_cb cb, void* priv) {
      return rpc_nfs3_rmdir_async(r, cb, &args, priv);
    });
  }

  int Rename(const Fh& from_dir, const std::string& from, const Fh& to_dir,
             const std::string& to) {
    RENAME3args args{};
    std::string f = from, t = to;
    args.from.dir = ToFh3(from_dir);
    args.from.name = f.data();
    args.to.dir = ToFh3(to_dir);
    args.to.name = t.data();
    return Do([&](rpc_context* r, rpc_cb cb, void* priv) {
      return rpc_nfs3_rename_async(r, cb, &args, priv);
    });
  }

  int Setattr(const Fh& fh, std::optional<uint32_t> mode,
              std::optional<uint64_t> size = std::nullopt) {
    SETATTR3args args{};
    args.object = ToFh3(fh);
    if (mode) {
      args.new_attributes.mode.set_it = 1;
      args.new_attributes.mode.set_mode3_u.mode = *mode;
    }
    if (size) {
      args.new_attributes.size.set_it = 1;
      args.new_attributes.size.set_size3_u.size = *size;
    }
    return Do([&](rpc_context* r, rpc_cb cb, void* priv) {
      return rpc_nfs3_setattr_async(r, cb, &args, priv);
    });
  }

  struct Entry {
    std::string name;
    uint64_t fileid = 0;
    uint64_t cookie = 0;
    bool has_attr = false;
    fattr3 attr{};
    Fh fh;
  };
  // One READDIRPLUS call.
  int ReaddirPlus(const Fh& dir, uint64_t cookie, const std::string& verf,
                  uint32_t dircount, uint32_t maxcount, std::vector<Entry>* out,
                  bool* eof, std::string* verf_out) {
    READDIRPLUS3args args{};
    args.dir = ToFh3(dir);
    args.cookie = cookie;
    std::memcpy(args.cookieverf, verf.data(),
                std::min<size_t>(verf.size(), NFS3_COOKIEVERFSIZE));
    args.dircount = dircount;
    args.maxcount = maxcount;
    return Do(
        [&](rpc_context* r, rpc_cb cb, void* priv) {
          return rpc_nfs3_readdirplus_async(r, cb, &args, priv);
        },
        [&](void* data) {
          auto* res = static_cast<READDIRPLUS3res*>(data);
          if (res->status != NFS3_OK) return;
          const READDIRPLUS3resok& ok = res->READDIRPLUS3res_u.resok;
          *eof = ok.reply.eof != 0;
          *verf_out = std::string(ok.cookieverf, NFS3_COOKIEVERFSIZE);
          for (const entryplus3* p = ok.reply.entries; p != nullptr;) {
            const entryplus3 e = Node<entryplus3>(p);
            Entry x;
            x.name = e.name;
            x.fileid = e.fileid;
            x.cookie = e.cookie;
            x.has_attr = e.name_attributes.attributes_follow != 0;
            if (x.has_attr)
              x.attr = e.name_attributes.post_op_attr_u.attributes;
            if (e.name_handle.handle_follows) {
              x.fh = FromFh3(e.name_handle.post_op_fh3_u.handle);
            }
            out->push_back(std::move(x));
            p = e.nextentry;
          }
        });
  }

 private:
  std::string RpcErr() {
    const char* e = rpc_get_error(rpc_.get());
    return e == nullptr ? "(no error)" : e;
  }
  using Issue = std::function<int(struct rpc_context*, rpc_cb, void*)>;
  // An NFS call: returns the nfsstat3 or -1.
  int Do(const Issue& issue, const std::function<void(void*)>& ok = nullptr) {
    int st = -1;
    Run(issue, [&](void* data) {
      st = StatusOf(data);
      if (ok) ok(data);
    });
    return st;
  }
  void Run(const Issue& issue, const std::function<void(void*)>& on_data) {
    int rc = rpc_.Call(issue, [&](int status, void* data) {
      if (status == RPC_STATUS_SUCCESS && data != nullptr) on_data(data);
    });
    if (rc != RPC_STATUS_SUCCESS) {
      ADD_FAILURE() << "rpc failed (" << rc << "): " << RpcErr();
    }
  }

  RawRpc rpc_;
};

// ---- small helpers ----

// libnfs's last error message (NfsMount::error() throws when there is none).
std::string Err(NfsMount& m) {
  const char* e = nfs_get_error(m.get());
  return e == nullptr ? "(no libnfs error)" : e;
}

// Writes `bytes` to `path` over NFS (created or truncated, mode 0644).
int NfsPut(NfsMount& m, const std::string& path, const std::string& bytes) {
  struct nfsfh* fh = nullptr;
  int rc = nfs_create(m.get(), path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644,
                      &fh);
  if (rc != 0) return rc;
  if (!bytes.empty()) {
    rc = nfs_pwrite(m.get(), fh, 0, bytes.size(), bytes.data());
    if (rc != static_cast<int>(bytes.size())) {
      nfs_close(m.get(), fh);
      return rc < 0 ? rc : -EIO;
    }
  }
  return nfs_close(m.get(), fh);
}

// Reads all of `path` over NFS; nullopt on error.
std::optional<std::string> NfsGet(NfsMount& m, const std::string& path) {
  struct nfsfh* fh = nullptr;
  if (nfs_open(m.get(), path.c_str(), O_RDONLY, &fh) != 0) return std::nullopt;
  std::string out;
  char buf[65536];
  for (;;) {
    int n = nfs_pread(m.get(), fh, out.size(), sizeof(buf), buf);
    if (n < 0) {
      nfs_close(m.get(), fh);
      return std::nullopt;
    }
    if (n == 0) break;
    out.append(buf, n);
  }
  nfs_close(m.get(), fh);
  return out;
}

// Plain POSIX helpers for the FUSE mount.
std::optional<std::string> PosixGet(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return std::nullopt;
  std::string out;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0) out.append(buf, n);
  ::close(fd);
  if (n < 0) return std::nullopt;
  return out;
}
bool PosixPut(const std::string& path, const std::string& bytes,
              mode_t mode = 0644) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, mode);
  if (fd < 0) return false;
  bool ok = ::write(fd, bytes.data(), bytes.size()) ==
            static_cast<ssize_t>(bytes.size());
  return ::close(fd) == 0 && ok;
}
std::set<std::string> PosixList(const std::string& path) {
  std::set<std::string> out;
  DIR* d = ::opendir(path.c_str());
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") out.insert(n);
  }
  ::closedir(d);
  return out;
}
int PosixStatErrno(const std::string& path, struct stat* st = nullptr) {
  struct stat tmp;
  return ::stat(path.c_str(), st ? st : &tmp) == 0 ? 0 : errno;
}

// Mounts `export_path` like NfsMount::Mount, but with libnfs's
// auto-traverse-mounts off: by default libnfs asks for the export list and
// looks paths up below a nested export through that export's own root
// handle (so its rules apply), like the kernel client's crossmnt.
int MountNoTraverse(NfsMount& m, const NfsDaemon& d,
                    const std::string& export_path, int uid, int gid) {
  nfs_set_uid(m.get(), uid);
  nfs_set_gid(m.get(), gid);
  std::string u = d.Url(export_path) + "&auto-traverse-mounts=0";
  struct nfs_url* url = nfs_parse_url_dir(m.get(), u.c_str());
  if (url == nullptr) return -EINVAL;
  int rc = nfs_mount(m.get(), url->server, url->path);
  nfs_destroy_url(url);
  return rc;
}

// Starts the daemon with the default export ("/", squash none), runs
// `setup` on a libnfs mount as root, stops it: export paths must exist
// before the daemon that exports them starts.
void Prepare(NfsDaemon& d, const std::function<void(NfsMount&)>& setup) {
  ASSERT_TRUE(d.Start());
  {
    NfsMount m;
    ASSERT_EQ(0, m.Mount(d)) << Err(m);
    setup(m);
  }
  d.Stop();
}

std::string Pattern(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < n; ++i) {
    x = x * 1103515245u + 12345u;
    s[i] = static_cast<char>(x >> 24);
  }
  return s;
}

// ===================================================================
// 1. Export rules
// ===================================================================

// (a) read-only export: reads work, every write-type operation is refused
// with NFS3ERR_ROFS, and nothing changes.
TEST(NfsExports, ReadOnlyExportRefusesEveryWrite) {
  NfsDaemon d;
  Prepare(d, [](NfsMount& m) {
    ASSERT_EQ(0, nfs_mkdir(m.get(), "/ro"));
    ASSERT_EQ(0, NfsPut(m, "/ro/file", "read me, do not change me"));
    ASSERT_EQ(0, nfs_mkdir(m.get(), "/ro/sub"));
  });
  ASSERT_TRUE(
      d.Start("  exports:\n"
              "    - {path: /ro, clients: [127.0.0.0/8], read_only: true, "
              "squash: none}\n"));

  // What an application sees through libnfs.
  NfsMount m;
  ASSERT_EQ(0, m.Mount(d, "/ro")) << Err(m);
  EXPECT_EQ("read me, do not change me", NfsGet(m, "/file").value_or("?"));
  struct nfs_stat_64 st {};
  ASSERT_EQ(0, nfs_stat64(m.get(), "/sub", &st)) << Err(m);
  EXPECT_TRUE(S_ISDIR(st.nfs_mode));
  struct nfsfh* fh = nullptr;
  EXPECT_EQ(-EROFS, nfs_creat(m.get(), "/new", 0644, &fh)) << Err(m);
  EXPECT_EQ(-EROFS, nfs_mkdir(m.get(), "/newdir")) << Err(m);
  EXPECT_EQ(-EROFS, nfs_unlink(m.get(), "/file")) << Err(m);
  EXPECT_EQ(-EROFS, nfs_rmdir(m.get(), "/sub")) << Err(m);
  EXPECT_EQ(-EROFS, nfs_rename(m.get(), "/file", "/renamed")) << Err(m);
  EXPECT_EQ(-EROFS, nfs_chmod(m.get(), "/file", 0600)) << Err(m);
  EXPECT_EQ(-EROFS, nfs_truncate(m.get(), "/file", 0)) << Err(m);
  // An open for writing is refused (libnfs checks ACCESS first, so the
  // errno may be EACCES or EROFS); a write through a read-only open
  // reaches the server and must fail.
  int orc = nfs_open(m.get(), "/file", O_WRONLY, &fh);
  EXPECT_TRUE(orc == -EROFS || orc == -EACCES) << orc << " " << Err(m);
  if (orc == 0) nfs_close(m.get(), fh);
  // libnfs 4.0 reports any failed WRITE as -EFAULT, whatever the status
  // (the exact status is checked with the raw API below).
  ASSERT_EQ(0, nfs_open(m.get(), "/file", O_RDONLY, &fh));
  EXPECT_GT(0, nfs_pwrite(m.get(), fh, 0, 3, "bad"));
  nfs_close(m.get(), fh);

  // The exact status of each write-type procedure.
  Nfs3 mnt;
  ASSERT_TRUE(mnt.Connect(d.port(), MOUNT_PROGRAM, MOUNT_V3));
  Fh root;
  ASSERT_EQ(MNT3_OK, mnt.Mnt("/ro", &root));
  Nfs3 n;
  ASSERT_TRUE(n.Connect(d.port()));
  Fh file, sub;
  ASSERT_EQ(NFS3_OK, n.Lookup(root, "file", &file));
  ASSERT_EQ(NFS3_OK, n.Lookup(root, "sub", &sub));
  EXPECT_EQ(NFS3ERR_ROFS, n.Create(root, "new", 0644));
  EXPECT_EQ(NFS3ERR_ROFS, n.Write(file, 0, "XXXX", UNSTABLE));
  EXPECT_EQ(NFS3ERR_ROFS, n.Write(file, 0, "XXXX", FILE_SYNC));
  EXPECT_EQ(NFS3ERR_ROFS, n.Mkdir(root, "newdir"));
  EXPECT_EQ(NFS3ERR_ROFS, n.Remove(root, "file"));
  EXPECT_EQ(NFS3ERR_ROFS, n.Rmdir(root, "sub"));
  EXPECT_EQ(NFS3ERR_ROFS, n.Rename(root, "file", root, "renamed"));
  EXPECT_EQ(NFS3ERR_ROFS, n.Rename(root, "file", sub, "file"));
  EXPECT_EQ(NFS3ERR_ROFS, n.Setattr(file, 0600));
  EXPECT_EQ(NFS3ERR_ROFS, n.Setattr(file, std::nullopt, 0));
  EXPECT_EQ(NFS3ERR_ROFS, n.Setattr(root, 0777));
  EXPECT_EQ(NFS3ERR_ROFS, n.Symlink(root, "link", "file"));
  EXPECT_EQ(NFS3ERR_ROFS, n.Link(file, root, "hard"));

  // Nothing changed.
  std::string data;
  ASSERT_EQ(NFS3_OK, n.Read(file, 0, 100, &data));
  EXPECT_EQ("read me, do not change me", data);
  fattr3 fa{};
  ASSERT_EQ(NFS3_OK, n.Getattr(file, &fa));
  EXPECT_EQ(0644u, fa.mode & 07777);
  EXPECT_EQ(1u, fa.nlink);
  for (const char* name : {"new", "newdir", "renamed", "link", "hard"}) {
    EXPECT_EQ(NFS3ERR_NOENT, n.Lookup(root, name)) << name;
  }
  EXPECT_EQ(NFS3_OK, n.Lookup(sub, "..")) << "reads keep working";
}

// (b) squashing: root squash maps uid 0 to anonuid/anongid; a root-owned
// 0644 file (made through the FUSE mount or through a squash-none export)
// is not writable by root through the squashed export; squash none keeps
// root; all_squash maps everyone to anonuid/anongid.
TEST(NfsExports, SquashRules) {
  NfsDaemon d;
  const std::string mnt = d.EnableMount();
  Prepare(d, [](NfsMount& m) {
    ASSERT_EQ(0, nfs_mkdir(m.get(), "/sq"));
    ASSERT_EQ(0, nfs_chmod(m.get(), "/sq", 0777));
    ASSERT_EQ(0, nfs_mkdir(m.get(), "/all"));
    ASSERT_EQ(0, nfs_chmod(m.get(), "/all", 0777));
  });
  ASSERT_TRUE(d.Start(
      "  exports:\n"
      "    - {path: /, clients: [127.0.0.0/8], squash: none}\n"
      "    - {path: /sq, clients: [127.0.0.0/8], squash: root, anonuid: "
      "65534, anongid: 65534}\n"
      "    - {path: /all, clients: [127.0.0.0/8], squash: all, anonuid: "
      "4000, anongid: 4001}\n"));

  // Root squash: uid 0 creates as 65534:65534.
  NfsMount sq;
  ASSERT_EQ(0, sq.Mount(d, "/sq", 0, 0)) << Err(sq);
  ASSERT_EQ(0, NfsPut(sq, "/by_root", "squashed")) << Err(sq);
  struct nfs_stat_64 st {};
  ASSERT_EQ(0, nfs_stat64(sq.get(), "/by_root", &st));
  EXPECT_EQ(65534u, st.nfs_uid);
  EXPECT_EQ(65534u, st.nfs_gid);
  struct stat pst {};
  ASSERT_EQ(0, PosixStatErrno(mnt + "/sq/by_root", &pst));
  EXPECT_EQ(65534u, pst.st_uid) << "the FUSE mount shows the same owner";
  EXPECT_EQ(65534u, pst.st_gid);

  // A root-owned 0644 file made through the FUSE mount (we are root here).
  ASSERT_EQ(0u, ::geteuid());
  ASSERT_TRUE(PosixPut(mnt + "/sq/fuse_root", "root's own", 0644));
  ASSERT_EQ(0, ::chmod((mnt + "/sq/fuse_root").c_str(), 0644));
  // ... and one made through the squash-none export "/" (not crossing
  // into the nested export /sq, see MountNoTraverse).
  NfsMount all_access;
  ASSERT_EQ(0, MountNoTraverse(all_access, d, "/", 0, 0)) << Err(all_access);
  ASSERT_EQ(0, NfsPut(all_access, "/sq/nfs_root", "root's own too"));
  ASSERT_EQ(0, nfs_stat64(all_access.get(), "/sq/nfs_root", &st));
  EXPECT_EQ(0u, st.nfs_uid) << "squash none: root stays root";
  EXPECT_EQ(0u, st.nfs_gid);
  EXPECT_EQ(0644u, st.nfs_mode & 07777);

  Nfs3 mount_rpc;
  ASSERT_TRUE(mount_rpc.Connect(d.port(), MOUNT_PROGRAM, MOUNT_V3));
  Fh sq_root;
  ASSERT_EQ(MNT3_OK, mount_rpc.Mnt("/sq", &sq_root));
  Nfs3 raw;
  ASSERT_TRUE(raw.Connect(d.port()));
  raw.SetIds(0, 0);
  for (const char* name : {"fuse_root", "nfs_root"}) {
    SCOPED_TRACE(name);
    struct nfsfh* fh = nullptr;
    int rc =
        nfs_open(sq.get(), (std::string("/") + name).c_str(), O_WRONLY, &fh);
    EXPECT_EQ(-EACCES, rc) << Err(sq);
    if (rc == 0) nfs_close(sq.get(), fh);
    Fh h;
    ASSERT_EQ(NFS3_OK, raw.Lookup(sq_root, name, &h));
    EXPECT_EQ(NFS3ERR_ACCES, raw.Write(h, 0, "pwned", FILE_SYNC));
    EXPECT_EQ(NFS3ERR_PERM, raw.Setattr(h, 0666));
  }
  EXPECT_EQ("root's own", PosixGet(mnt + "/sq/fuse_root").value_or("?"));
  EXPECT_EQ("root's own too", PosixGet(mnt + "/sq/nfs_root").value_or("?"));
  // Squashed root cannot delete in a root-owned sticky-less 0755 dir either.
  ASSERT_EQ(0, nfs_mkdir(all_access.get(), "/sq/rootdir"));
  ASSERT_EQ(0, NfsPut(all_access, "/sq/rootdir/f", "x"));
  EXPECT_EQ(-EACCES, nfs_unlink(sq.get(), "/rootdir/f")) << Err(sq);

  // With libnfs's default traversal, a "/" mount reaches /sq through the
  // /sq export, whose squashing then applies.
  NfsMount crossing;
  ASSERT_EQ(0, crossing.Mount(d, "/", 0, 0)) << Err(crossing);
  ASSERT_EQ(0, NfsPut(crossing, "/sq/via_crossing", "x"));
  ASSERT_EQ(0, nfs_stat64(all_access.get(), "/sq/via_crossing", &st));
  EXPECT_EQ(65534u, st.nfs_uid);
  ASSERT_EQ(0, NfsPut(crossing, "/at_top", "x"));
  ASSERT_EQ(0, nfs_stat64(all_access.get(), "/at_top", &st));
  EXPECT_EQ(0u, st.nfs_uid);

  // Squash none: root may write a file it does not own (uid 1000's 0644).
  NfsMount user;
  ASSERT_EQ(0, MountNoTraverse(user, d, "/", 1000, 1000)) << Err(user);
  ASSERT_EQ(0, NfsPut(user, "/sq/users", "user data"));
  ASSERT_EQ(0, nfs_stat64(all_access.get(), "/sq/users", &st));
  EXPECT_EQ(1000u, st.nfs_uid);
  EXPECT_EQ(1000u, st.nfs_gid);
  struct nfsfh* fh = nullptr;
  ASSERT_EQ(0, nfs_open(all_access.get(), "/sq/users", O_WRONLY, &fh))
      << Err(all_access);
  EXPECT_EQ(4, nfs_pwrite(all_access.get(), fh, 0, 4, "ROOT"));
  nfs_close(all_access.get(), fh);
  EXPECT_EQ("ROOT data", PosixGet(mnt + "/sq/users").value_or("?"));
  // ... while squashed root may not.
  EXPECT_EQ(-EACCES, nfs_open(sq.get(), "/users", O_WRONLY, &fh));

  // all_squash: uid 1000 (and root) become 4000:4001.
  for (int uid : {1000, 0}) {
    SCOPED_TRACE(uid);
    NfsMount a;
    ASSERT_EQ(0, a.Mount(d, "/all", uid, uid)) << Err(a);
    std::string path = "/by_" + std::to_string(uid);
    ASSERT_EQ(0, NfsPut(a, path, "anon")) << Err(a);
    ASSERT_EQ(0, nfs_stat64(a.get(), path.c_str(), &st));
    EXPECT_EQ(4000u, st.nfs_uid);
    EXPECT_EQ(4001u, st.nfs_gid);
    ASSERT_EQ(0, PosixStatErrno(mnt + "/all" + path, &pst));
    EXPECT_EQ(4000u, pst.st_uid);
    EXPECT_EQ(4001u, pst.st_gid);
  }
  // And they act as 4000: uid 1000's 0644 file is not theirs to write.
  NfsMount a;
  ASSERT_EQ(0, a.Mount(d, "/all", 1000, 1000)) << Err(a);
  ASSERT_EQ(0, NfsPut(user, "/all/owned_by_1000", "mine"));
  EXPECT_EQ(-EACCES, nfs_open(a.get(), "/owned_by_1000", O_WRONLY, &fh));
}

// (c) client addresses: /a allows 127.0.0.1 only, /b 127.0.0.2 only.
TEST(NfsExports, RefusedClientAddress) {
  NfsDaemon d;
  Prepare(d, [](NfsMount& m) {
    ASSERT_EQ(0, nfs_mkdir(m.get(), "/a"));
    ASSERT_EQ(0, nfs_mkdir(m.get(), "/b"));
    ASSERT_EQ(0, NfsPut(m, "/b/secret", "for 127.0.0.2 only"));
  });
  ASSERT_TRUE(
      d.Start("  exports:\n"
              "    - {path: /a, clients: [127.0.0.1/32], squash: none}\n"
              "    - {path: /b, clients: [\"127.0.0.2/32\"], squash: none}\n"));

  // libnfs from 127.0.0.1: /a mounts, /b does not.
  {
    NfsMount ok;
    EXPECT_EQ(0, ok.Mount(d, "/a")) << Err(ok);
    NfsMount refused;
    EXPECT_NE(0, refused.Mount(d, "/b"));
    EXPECT_NE(std::string::npos, Err(refused).find("ACCES")) << Err(refused);
  }

  // MNT statuses from each address.
  Nfs3 m1;
  ASSERT_TRUE(m1.Connect(d.port(), MOUNT_PROGRAM, MOUNT_V3));
  Fh a_root;
  EXPECT_EQ(MNT3_OK, m1.Mnt("/a", &a_root));
  EXPECT_EQ(MNT3ERR_ACCES, m1.Mnt("/b", nullptr));
  EXPECT_EQ(MNT3ERR_ACCES, m1.Mnt("/b/secret", nullptr));

  Nfs3 m2;
  ASSERT_TRUE(m2.Connect(d.port(), MOUNT_PROGRAM, MOUNT_V3,
                         Source{"127.0.0.2", false}));
  Fh b_root;
  EXPECT_EQ(MNT3_OK, m2.Mnt("/b", &b_root));
  EXPECT_EQ(MNT3ERR_ACCES, m2.Mnt("/a", nullptr));
  ASSERT_FALSE(b_root.empty());

  // The handle of /b works from 127.0.0.2 ...
  Nfs3 n2;
  ASSERT_TRUE(
      n2.Connect(d.port(), NFS_PROGRAM, NFS_V3, Source{"127.0.0.2", false}));
  Fh secret;
  ASSERT_EQ(NFS3_OK, n2.Getattr(b_root));
  ASSERT_EQ(NFS3_OK, n2.Lookup(b_root, "secret", &secret));
  std::string data;
  ASSERT_EQ(NFS3_OK, n2.Read(secret, 0, 100, &data));
  EXPECT_EQ("for 127.0.0.2 only", data);
  EXPECT_EQ(NFS3ERR_ACCES, n2.Getattr(a_root)) << "and /a's not from there";

  // ... and is refused from 127.0.0.1, for every kind of call.
  Nfs3 n1;
  ASSERT_TRUE(n1.Connect(d.port()));
  EXPECT_EQ(NFS3_OK, n1.Getattr(a_root));
  EXPECT_EQ(NFS3ERR_ACCES, n1.Getattr(b_root));
  EXPECT_EQ(NFS3ERR_ACCES, n1.Lookup(b_root, "secret"));
  EXPECT_EQ(NFS3ERR_ACCES, n1.Getattr(secret));
  EXPECT_EQ(NFS3ERR_ACCES, n1.Read(secret, 0, 100, &data));
  EXPECT_EQ(NFS3ERR_ACCES, n1.Write(secret, 0, "x"));
  EXPECT_EQ(NFS3ERR_ACCES, n1.Create(b_root, "planted", 0644));
  EXPECT_EQ(NFS3ERR_ACCES, n1.Remove(b_root, "secret"));
  std::vector<Nfs3::Entry> ents;
  bool eof = false;
  std::string verf;
  EXPECT_EQ(NFS3ERR_ACCES, n1.ReaddirPlus(b_root, 0, std::string(8, '\0'), 4096,
                                          32768, &ents, &eof, &verf));
  EXPECT_TRUE(ents.empty());
  // Nothing was changed by the refused calls.
  ASSERT_EQ(NFS3_OK, n2.Read(secret, 0, 100, &data));
  EXPECT_EQ("for 127.0.0.2 only", data);
  EXPECT_EQ(NFS3ERR_NOENT, n2.Lookup(b_root, "planted"));
}

// (d) secure: true refuses requests from non-reserved source ports. libnfs
// running as root binds a reserved port (it tries 512..1023 before
// connecting), so a libnfs mount is accepted; a raw connection from an
// ephemeral port is refused for MNT and for NFS calls.
TEST(NfsExports, SecureExportNeedsReservedPort) {
  NfsDaemon d;
  Prepare(d, [](NfsMount& m) {
    ASSERT_EQ(0, nfs_mkdir(m.get(), "/s"));
    ASSERT_EQ(0, nfs_mkdir(m.get(), "/open"));
    ASSERT_EQ(0, NfsPut(m, "/s/f", "secure data"));
  });
  ASSERT_TRUE(d.Start(
      "  exports:\n"
      "    - {path: /s, clients: [127.0.0.0/8], squash: none, secure: true}\n"
      "    - {path: /open, clients: [127.0.0.0/8], squash: none}\n"));
  ASSERT_EQ(0u, ::geteuid()) << "these tests run as root";

  NfsMount m;
  ASSERT_EQ(0, m.Mount(d, "/s")) << Err(m);
  uint16_t libnfs_port = LocalPort(rpc_get_fd(nfs_get_rpc_context(m.get())));
  EXPECT_LT(libnfs_port, 1024) << "libnfs as root uses a reserved port";
  EXPECT_EQ("secure data", NfsGet(m, "/f").value_or("?"));

  Nfs3 reserved_mnt;
  ASSERT_TRUE(reserved_mnt.Connect(d.port(), MOUNT_PROGRAM, MOUNT_V3));
  EXPECT_LT(reserved_mnt.local_port(), 1024);
  Fh s_root, open_root;
  ASSERT_EQ(MNT3_OK, reserved_mnt.Mnt("/s", &s_root));
  ASSERT_EQ(MNT3_OK, reserved_mnt.Mnt("/open", &open_root));

  Nfs3 high_mnt;
  ASSERT_TRUE(high_mnt.Connect(d.port(), MOUNT_PROGRAM, MOUNT_V3,
                               Source{"127.0.0.1", true}));
  EXPECT_GE(high_mnt.local_port(), 1024);
  EXPECT_EQ(MNT3ERR_ACCES, high_mnt.Mnt("/s", nullptr));
  EXPECT_EQ(MNT3_OK, high_mnt.Mnt("/open", nullptr)) << "not secure: fine";

  Nfs3 high;
  ASSERT_TRUE(
      high.Connect(d.port(), NFS_PROGRAM, NFS_V3, Source{"127.0.0.1", true}));
  ASSERT_GE(high.local_port(), 1024);
  EXPECT_EQ(NFS3ERR_ACCES, high.Getattr(s_root));
  EXPECT_EQ(NFS3ERR_ACCES, high.Lookup(s_root, "f"));
  EXPECT_EQ(NFS3ERR_ACCES, high.Create(s_root, "planted", 0644));
  EXPECT_EQ(NFS3_OK, high.Getattr(open_root));

  Nfs3 low;
  ASSERT_TRUE(low.Connect(d.port()));
  ASSERT_LT(low.local_port(), 1024);
  Fh f;
  EXPECT_EQ(NFS3_OK, low.Getattr(s_root));
  ASSERT_EQ(NFS3_OK, low.Lookup(s_root, "f", &f));
  EXPECT_EQ(NFS3ERR_ACCES, high.Read(f, 0, 100, nullptr));
  EXPECT_EQ(NFS3ERR_NOENT, low.Lookup(s_root, "planted"));
}

// ===================================================================
// 2. Files beyond 4 GiB
// ===================================================================

TEST(NfsLargeFiles, OffsetsBeyond4GiB) {
  NfsDaemon d;
  ASSERT_TRUE(d.Start());
  NfsMount m;
  ASSERT_EQ(0, m.Mount(d)) << Err(m);
  struct nfsfh* fh = nullptr;
  ASSERT_EQ(0, nfs_creat(m.get(), "/big", 0644, &fh)) << Err(m);

  struct Piece {
    uint64_t off;
    std::string bytes;
  };
  const std::vector<Piece> pieces = {
      {4 * kGiB - 5, Pattern(10, 1)},      // straddles the 4 GiB line
      {5 * kGiB, Pattern(70000, 2)},       // more than one 64 KiB block
      {8 * kGiB + 123, Pattern(4099, 3)},  // the end of the file
  };
  for (const Piece& p : pieces) {
    ASSERT_EQ(static_cast<int>(p.bytes.size()),
              nfs_pwrite(m.get(), fh, p.off, p.bytes.size(), p.bytes.data()))
        << Err(m);
  }
  ASSERT_EQ(0, nfs_fsync(m.get(), fh));
  const uint64_t size = 8 * kGiB + 123 + 4099;
  struct nfs_stat_64 st {};
  ASSERT_EQ(0, nfs_fstat64(m.get(), fh, &st));
  EXPECT_EQ(size, st.nfs_size);
  ASSERT_EQ(0, nfs_close(m.get(), fh));

  ASSERT_EQ(0, nfs_open(m.get(), "/big", O_RDONLY, &fh));
  auto read_at = [&](uint64_t off, size_t n) {
    std::string buf(n, '\x55');
    int got = nfs_pread(m.get(), fh, off, n, buf.data());
    buf.resize(got < 0 ? 0 : got);
    return buf;
  };
  for (const Piece& p : pieces) {
    EXPECT_EQ(p.bytes, read_at(p.off, p.bytes.size())) << p.off;
  }
  // Holes read as zeros: at 0, just below 4 GiB, in the middle, just before
  // and right after the 5 GiB piece.
  for (uint64_t off : {uint64_t{0}, 4 * kGiB - 4096 - 5, 6 * kGiB + 77,
                       5 * kGiB - 4096, 5 * kGiB + 70000}) {
    EXPECT_EQ(std::string(4096, '\0'), read_at(off, 4096)) << off;
  }
  // A read across the hole/data boundaries returns both parts.
  std::string across = read_at(5 * kGiB - 100, 200);
  EXPECT_EQ(std::string(100, '\0') + pieces[1].bytes.substr(0, 100), across);
  // Reads at and past the end: short, then empty.
  EXPECT_EQ(pieces[2].bytes.substr(4000), read_at(size - 99, 4096));
  EXPECT_EQ("", read_at(size, 100));
  EXPECT_EQ("", read_at(16 * kGiB, 100));
  nfs_close(m.get(), fh);

  // The wire view: GETATTR size, READ at a 64-bit offset with eof.
  Nfs3 mnt;
  ASSERT_TRUE(mnt.Connect(d.port(), MOUNT_PROGRAM, MOUNT_V3));
  Fh root, big;
  ASSERT_EQ(MNT3_OK, mnt.Mnt("/", &root));
  Nfs3 n;
  ASSERT_TRUE(n.Connect(d.port()));
  fattr3 fa{};
  ASSERT_EQ(NFS3_OK, n.Lookup(root, "big", &big));
  ASSERT_EQ(NFS3_OK, n.Getattr(big, &fa));
  EXPECT_EQ(size, fa.size);
  EXPECT_LT(fa.used, 64ull << 20) << "sparse: holes take no space";
  std::string data;
  ASSERT_EQ(NFS3_OK, n.Read(big, 8 * kGiB + 123, 4099, &data));
  EXPECT_EQ(pieces[2].bytes, data);

  // Truncating down below 4 GiB and back up leaves zeros behind.
  ASSERT_EQ(NFS3_OK, n.Setattr(big, std::nullopt, 4 * kGiB + 2));
  ASSERT_EQ(NFS3_OK, n.Getattr(big, &fa));
  EXPECT_EQ(4 * kGiB + 2, fa.size);
  ASSERT_EQ(NFS3_OK, n.Read(big, 4 * kGiB - 5, 100, &data));
  EXPECT_EQ(pieces[0].bytes.substr(0, 7), data);
  ASSERT_EQ(NFS3_OK, n.Setattr(big, std::nullopt, 6 * kGiB));
  ASSERT_EQ(NFS3_OK, n.Read(big, 5 * kGiB, 1000, &data));
  EXPECT_EQ(std::string(1000, '\0'), data);
}

// ===================================================================
// 3. A directory of 10,000 entries
// ===================================================================

constexpr int kManyFiles = 10000;

std::string ManyName(int i) { return "entry-" + std::to_string(i); }
uint32_t ManyMode(int i) {
  return i % 3 == 0 ? 0600 : i % 3 == 1 ? 0644 : 0640;
}

// Creates ManyName(0..n) in `dir` with size i and ManyMode(i), `depth`
// requests in flight; fills `fileids`.
void CreateMany(Nfs3& n, const Fh& dir, int count, int depth,
                std::vector<uint64_t>* fileids) {
  struct Call {
    int index;
    int* inflight;
    int* failures;
    std::vector<uint64_t>* ids;
  };
  fileids->assign(count, 0);
  int inflight = 0, failures = 0, next = 0;
  std::vector<Call> calls(count);
  // On an early return, fail what is still in flight while `calls` lives
  // (libnfs would otherwise call back into freed memory later).
  struct Drain {
    Nfs3* n;
    int* inflight;
    ~Drain() {
      if (*inflight > 0) rpc_disconnect(n->rpc(), "test gave up");
    }
  } drain{&n, &inflight};
  auto cb = [](struct rpc_context*, int status, void* data, void* priv) {
    auto* c = static_cast<Call*>(priv);
    --*c->inflight;
    auto* res = static_cast<CREATE3res*>(data);
    if (status != RPC_STATUS_SUCCESS || res->status != NFS3_OK ||
        !res->CREATE3res_u.resok.obj_attributes.attributes_follow) {
      ++*c->failures;
      return;
    }
    (*c->ids)[c->index] =
        res->CREATE3res_u.resok.obj_attributes.post_op_attr_u.attributes.fileid;
  };
  while (next < count || inflight > 0) {
    while (next < count && inflight < depth) {
      calls[next] = Call{next, &inflight, &failures, fileids};
      CREATE3args args{};
      args.where.dir = ToFh3(dir);
      std::string name = ManyName(next);
      args.where.name = name.data();
      args.how.mode = GUARDED;
      sattr3& sa = args.how.createhow3_u.g_obj_attributes;
      sa.mode.set_it = 1;
      sa.mode.set_mode3_u.mode = ManyMode(next);
      sa.size.set_it = 1;
      sa.size.set_size3_u.size = static_cast<uint64_t>(next);
      ASSERT_EQ(0, rpc_nfs3_create_async(n.rpc(), cb, &args, &calls[next]));
      ++inflight;
      ++next;
    }
    int target = std::max(0, inflight - 1);
    ASSERT_TRUE(Pump(n.rpc(), [&] { return inflight <= target; }))
        << rpc_get_error(n.rpc());
  }
  ASSERT_EQ(0, failures);
}

TEST(NfsBigDirectory, TenThousandEntries) {
  NfsDaemon d;
  ASSERT_TRUE(d.Start());
  NfsMount m;
  ASSERT_EQ(0, m.Mount(d)) << Err(m);
  ASSERT_EQ(0, nfs_mkdir(m.get(), "/many"));

  Nfs3 mnt;
  ASSERT_TRUE(mnt.Connect(d.port(), MOUNT_PROGRAM, MOUNT_V3));
  Fh root, dir;
  ASSERT_EQ(MNT3_OK, mnt.Mnt("/", &root));
  Nfs3 n;
  ASSERT_TRUE(n.Connect(d.port()));
  ASSERT_EQ(NFS3_OK, n.Lookup(root, "many", &dir));
  std::vector<uint64_t> ids;
  CreateMany(n, dir, kManyFiles, 32, &ids);
  if (HasFatalFailure()) return;

  // libnfs opendir (READDIRPLUS underneath): every name once, right attrs.
  struct nfsdir* nd = nullptr;
  ASSERT_EQ(0, nfs_opendir(m.get(), "/many", &nd)) << Err(m);
  std::map<std::string, int> seen;
  int bad_attrs = 0;
  while (struct nfsdirent* e = nfs_readdir(m.get(), nd)) {
    std::string name = e->name;
    ++seen[name];
    if (name == "." || name == "..") continue;
    if (name.rfind("entry-", 0) != 0) continue;
    int i = std::stoi(name.substr(6));
    if (i < 0 || i >= kManyFiles) continue;
    bool ok = e->inode == ids[i] && e->type == NF3REG &&
              (e->mode & 07777) == ManyMode(i) &&
              e->size == static_cast<uint64_t>(i) && e->uid == 0 &&
              e->gid == 0 && e->nlink == 1;
    if (!ok && ++bad_attrs <= 5) {
      ADD_FAILURE() << name << ": inode " << e->inode << " (want " << ids[i]
                    << ") type " << e->type << " mode " << std::oct << e->mode
                    << std::dec << " size " << e->size << " uid " << e->uid
                    << " nlink " << e->nlink;
    }
  }
  nfs_closedir(m.get(), nd);
  EXPECT_EQ(0, bad_attrs);
  EXPECT_EQ(static_cast<size_t>(kManyFiles + 2), seen.size());
  EXPECT_EQ(1, seen["."]);
  EXPECT_EQ(1, seen[".."]);
  int missing = 0, dups = 0;
  for (int i = 0; i < kManyFiles; ++i) {
    auto it = seen.find(ManyName(i));
    if (it == seen.end()) {
      ++missing;
    } else if (it->second != 1) {
      ++dups;
    }
  }
  EXPECT_EQ(0, missing);
  EXPECT_EQ(0, dups);

  // Raw READDIRPLUS in small pages; between pages, remove some entries (both
  // already listed and not yet listed ones) and add new ones. Untouched
  // names must come back exactly once, and no name twice.
  std::set<std::string> removed, added;
  std::map<std::string, int> listed;
  uint64_t cookie = 0;
  std::string verf(8, '\0');
  bool eof = false;
  int calls = 0, bad_raw_attrs = 0;
  int next_new = 0;
  while (!eof) {
    std::vector<Nfs3::Entry> ents;
    std::string new_verf;
    ASSERT_EQ(NFS3_OK, n.ReaddirPlus(dir, cookie, verf, 4096, 16384, &ents,
                                     &eof, &new_verf))
        << "call " << calls << " cookie " << cookie;
    ++calls;
    ASSERT_TRUE(eof || !ents.empty()) << "no progress at cookie " << cookie;
    for (const Nfs3::Entry& e : ents) {
      ++listed[e.name];
      if (e.name.rfind("entry-", 0) == 0 &&
          e.name.find('+') == std::string::npos) {
        int i = std::stoi(e.name.substr(6));
        if (!e.has_attr || e.fh.empty() || e.fileid != ids[i] ||
            e.attr.fileid != ids[i] ||
            e.attr.size != static_cast<uint64_t>(i) ||
            (e.attr.mode & 07777) != ManyMode(i)) {
          ++bad_raw_attrs;
        }
      }
    }
    if (!ents.empty()) cookie = ents.back().cookie;
    verf = new_verf;
    if (calls % 5 == 0 && !eof) {
      // Remove one listed and one not yet listed name, add two.
      for (int k = 0; k < 2; ++k) {
        int i = (calls * 37 + k * 5003) % kManyFiles;
        std::string victim = ManyName(i);
        if (removed.insert(victim).second) {
          ASSERT_EQ(NFS3_OK, n.Remove(dir, victim)) << victim;
        }
        std::string extra = "entry-+" + std::to_string(next_new++);
        ASSERT_EQ(NFS3_OK, n.Create(dir, extra, 0644));
        added.insert(extra);
      }
    }
  }
  EXPECT_GT(calls, 10) << "the listing should have needed many calls";
  EXPECT_EQ(0, bad_raw_attrs);
  EXPECT_FALSE(removed.empty());
  int raw_missing = 0, raw_dups = 0;
  for (int i = 0; i < kManyFiles; ++i) {
    std::string name = ManyName(i);
    if (removed.count(name)) continue;
    auto it = listed.find(name);
    if (it == listed.end()) {
      ++raw_missing;
    } else if (it->second != 1) {
      ++raw_dups;
    }
  }
  EXPECT_EQ(0, raw_missing) << "untouched names must not be skipped";
  EXPECT_EQ(0, raw_dups) << "untouched names must not repeat";
  for (const auto& [name, count] : listed) {
    EXPECT_EQ(1, count) << name;
  }
  EXPECT_EQ(1, listed["."]);
  EXPECT_EQ(1, listed[".."]);
}

// ===================================================================
// 4. Handles across restarts
// ===================================================================

void HandlesSurvive(bool crash) {
  NfsDaemon d;
  ASSERT_TRUE(d.Start());
  const std::string content = Pattern(100000, 7);
  {
    NfsMount m;
    ASSERT_EQ(0, m.Mount(d)) << Err(m);
    ASSERT_EQ(0, nfs_mkdir(m.get(), "/dir"));
    struct nfsfh* fh = nullptr;
    ASSERT_EQ(0, nfs_creat(m.get(), "/dir/keep", 0640, &fh));
    ASSERT_EQ(static_cast<int>(content.size()),
              nfs_pwrite(m.get(), fh, 0, content.size(), content.data()));
    ASSERT_EQ(0, nfs_fsync(m.get(), fh));  // COMMIT: durable
    ASSERT_EQ(0, nfs_close(m.get(), fh));
    ASSERT_EQ(0, NfsPut(m, "/dir/gone", "to be removed"));
  }
  Fh root, dir, keep, gone;
  fattr3 keep_before{}, dir_before{}, gone_before{};
  {
    Nfs3 mnt;
    ASSERT_TRUE(mnt.Connect(d.port(), MOUNT_PROGRAM, MOUNT_V3));
    ASSERT_EQ(MNT3_OK, mnt.Mnt("/", &root));
    Nfs3 n;
    ASSERT_TRUE(n.Connect(d.port()));
    ASSERT_EQ(NFS3_OK, n.Lookup(root, "dir", &dir, &dir_before));
    ASSERT_EQ(NFS3_OK, n.Lookup(dir, "keep", &keep, &keep_before));
    ASSERT_EQ(NFS3_OK, n.Lookup(dir, "gone", &gone, &gone_before));
    ASSERT_EQ(NFS3_OK, n.Remove(dir, "gone"));
    EXPECT_EQ(NFS3ERR_STALE, n.Getattr(gone)) << "stale before the restart";
    // A new file with the removed one's name is a different file.
    ASSERT_EQ(NFS3_OK, n.Create(dir, "gone", 0644));
  }

  if (crash) {
    d.Kill();
    ASSERT_TRUE(d.Restart());
  } else {
    ASSERT_TRUE(d.Restart());
  }

  Nfs3 n;
  ASSERT_TRUE(n.Connect(d.port()));
  fattr3 a{};
  ASSERT_EQ(NFS3_OK, n.Getattr(root, &a)) << "the root handle still works";
  ASSERT_EQ(NFS3_OK, n.Getattr(dir, &a));
  EXPECT_EQ(dir_before.fileid, a.fileid);
  ASSERT_EQ(NFS3_OK, n.Getattr(keep, &a));
  EXPECT_EQ(keep_before.fileid, a.fileid);
  EXPECT_EQ(content.size(), a.size);
  EXPECT_EQ(0640u, a.mode & 07777);
  std::string got;
  for (uint64_t off = 0; off < content.size(); off += 32768) {
    std::string part;
    ASSERT_EQ(NFS3_OK, n.Read(keep, off, 32768, &part)) << off;
    got += part;
  }
  EXPECT_TRUE(got == content) << "data read through the old handle differs";
  Fh again;
  ASSERT_EQ(NFS3_OK, n.Lookup(dir, "keep", &again));
  ASSERT_EQ(NFS3_OK, n.Getattr(again, &a));
  EXPECT_EQ(keep_before.fileid, a.fileid);
  // The removed file's handle is stale; the new "gone" is someone else.
  EXPECT_EQ(NFS3ERR_STALE, n.Getattr(gone));
  EXPECT_EQ(NFS3ERR_STALE, n.Read(gone, 0, 10, &got));
  Fh new_gone;
  fattr3 ng{};
  ASSERT_EQ(NFS3_OK, n.Lookup(dir, "gone", &new_gone, &ng));
  EXPECT_NE(gone, new_gone);
  // Writes through an old handle work too.
  ASSERT_EQ(NFS3_OK, n.Write(keep, 0, "NEW!"));
  ASSERT_EQ(NFS3_OK, n.Read(keep, 0, 8, &got));
  EXPECT_EQ("NEW!" + content.substr(4, 4), got);
  // A libnfs mount after the restart sees the same file.
  NfsMount m;
  ASSERT_EQ(0, m.Mount(d)) << Err(m);
  struct nfs_stat_64 st {};
  ASSERT_EQ(0, nfs_stat64(m.get(), "/dir/keep", &st));
  EXPECT_EQ(keep_before.fileid, st.nfs_ino);
}

TEST(NfsRestart, HandlesSurviveCleanRestart) { HandlesSurvive(false); }
TEST(NfsRestart, HandlesSurviveCrash) { HandlesSurvive(true); }

// ===================================================================
// 5. FUSE <-> NFS visibility
// ===================================================================

TEST(NfsFuseVisibility, NfsChangesVisibleInMountAtOnce) {
  NfsDaemon d;
  const std::string mnt = d.EnableMount();
  ASSERT_TRUE(d.Start());
  NfsMount m;
  ASSERT_EQ(0, m.Mount(d)) << Err(m);

  // A file written over NFS is readable through the mount at once.
  ASSERT_EQ(0, NfsPut(m, "/f", "v1"));
  EXPECT_EQ("v1", PosixGet(mnt + "/f").value_or("?"));
  // Keep a descriptor open across the changes (like `tail -f`).
  int fd = ::open((mnt + "/f").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  char buf[256];
  ASSERT_EQ(2, ::pread(fd, buf, sizeof(buf), 0));

  // Same size, new bytes: the page cache must not serve "v1".
  ASSERT_EQ(0, NfsPut(m, "/f", "V2"));
  EXPECT_EQ("V2", PosixGet(mnt + "/f").value_or("?"));
  // Grown: new size and new bytes at once.
  const std::string v3 = "third version, much longer than the first";
  ASSERT_EQ(0, NfsPut(m, "/f", v3));
  struct stat st {};
  ASSERT_EQ(0, PosixStatErrno(mnt + "/f", &st));
  EXPECT_EQ(static_cast<off_t>(v3.size()), st.st_size);
  EXPECT_EQ(v3, PosixGet(mnt + "/f").value_or("?"));
  ASSERT_EQ(0, ::fstat(fd, &st));
  EXPECT_EQ(static_cast<off_t>(v3.size()), st.st_size);
  ssize_t got = ::pread(fd, buf, sizeof(buf), 0);
  EXPECT_EQ(v3, std::string(buf, got < 0 ? 0 : got)) << "open descriptor";
  // A partial overwrite in the middle of a cached page.
  struct nfsfh* fh = nullptr;
  ASSERT_EQ(0, nfs_open(m.get(), "/f", O_WRONLY, &fh));
  ASSERT_EQ(5, nfs_pwrite(m.get(), fh, 6, 5, "XXXXX"));
  ASSERT_EQ(0, nfs_close(m.get(), fh));
  std::string v4 = v3;
  v4.replace(6, 5, "XXXXX");
  EXPECT_EQ(v4, PosixGet(mnt + "/f").value_or("?"));
  got = ::pread(fd, buf, sizeof(buf), 0);
  EXPECT_EQ(v4, std::string(buf, got < 0 ? 0 : got)) << "open descriptor";
  // Shrunk.
  ASSERT_EQ(0, nfs_truncate(m.get(), "/f", 3));
  EXPECT_EQ(v4.substr(0, 3), PosixGet(mnt + "/f").value_or("?"));
  ::close(fd);

  // Create / remove / rename over NFS show in readdir and stat at once,
  // even after the mount looked the names up (negative entries cached).
  EXPECT_EQ(ENOENT, PosixStatErrno(mnt + "/born"));
  EXPECT_EQ(0u, PosixList(mnt).count("born"));
  ASSERT_EQ(0, NfsPut(m, "/born", "hello"));
  EXPECT_EQ(0, PosixStatErrno(mnt + "/born"));
  EXPECT_EQ(1u, PosixList(mnt).count("born"));
  EXPECT_EQ("hello", PosixGet(mnt + "/born").value_or("?"));

  EXPECT_EQ(ENOENT, PosixStatErrno(mnt + "/moved"));
  ASSERT_EQ(0, nfs_rename(m.get(), "/born", "/moved"));
  EXPECT_EQ(ENOENT, PosixStatErrno(mnt + "/born"));
  EXPECT_EQ(0, PosixStatErrno(mnt + "/moved"));
  std::set<std::string> names = PosixList(mnt);
  EXPECT_EQ(0u, names.count("born"));
  EXPECT_EQ(1u, names.count("moved"));
  EXPECT_EQ("hello", PosixGet(mnt + "/moved").value_or("?"));

  // Rename over an existing name the mount has cached.
  ASSERT_TRUE(PosixPut(mnt + "/target", "old target"));
  EXPECT_EQ("old target", PosixGet(mnt + "/target").value_or("?"));
  ASSERT_EQ(0, nfs_rename(m.get(), "/moved", "/target"));
  EXPECT_EQ("hello", PosixGet(mnt + "/target").value_or("?"));
  EXPECT_EQ(ENOENT, PosixStatErrno(mnt + "/moved"));

  ASSERT_EQ(0, nfs_unlink(m.get(), "/target"));
  EXPECT_EQ(ENOENT, PosixStatErrno(mnt + "/target"));
  EXPECT_EQ(0u, PosixList(mnt).count("target"));

  // Directories too, and a file in a directory the mount listed before.
  ASSERT_EQ(0, nfs_mkdir(m.get(), "/d"));
  EXPECT_TRUE(PosixList(mnt + "/d").empty());
  ASSERT_EQ(0, NfsPut(m, "/d/inner", "in"));
  EXPECT_EQ(std::set<std::string>{"inner"}, PosixList(mnt + "/d"));
  ASSERT_EQ(0, nfs_chmod(m.get(), "/d/inner", 0600));
  ASSERT_EQ(0, PosixStatErrno(mnt + "/d/inner", &st));
  EXPECT_EQ(0600u, st.st_mode & 07777);
  ASSERT_EQ(0, nfs_unlink(m.get(), "/d/inner"));
  ASSERT_EQ(0, nfs_rmdir(m.get(), "/d"));
  EXPECT_EQ(ENOENT, PosixStatErrno(mnt + "/d"));
}

TEST(NfsFuseVisibility, MountChangesVisibleOverNfs) {
  NfsDaemon d;
  const std::string mnt = d.EnableMount();
  ASSERT_TRUE(d.Start());
  Nfs3 mrpc;
  ASSERT_TRUE(mrpc.Connect(d.port(), MOUNT_PROGRAM, MOUNT_V3));
  Fh root, g;
  ASSERT_EQ(MNT3_OK, mrpc.Mnt("/", &root));
  Nfs3 n;
  ASSERT_TRUE(n.Connect(d.port()));

  const std::string path = mnt + "/g";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(5, ::write(fd, "hello", 5));
  fattr3 a1{}, a2{};
  ASSERT_EQ(NFS3_OK, n.Lookup(root, "g", &g, &a1));
  ASSERT_EQ(NFS3_OK, n.Getattr(g, &a1));
  EXPECT_EQ(5u, a1.size) << "write() reaches the server before close()";
  std::string data;
  ASSERT_EQ(NFS3_OK, n.Read(g, 0, 100, &data));
  EXPECT_EQ("hello", data);

  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  ASSERT_EQ(7, ::write(fd, ", world", 7));
  ASSERT_EQ(NFS3_OK, n.Getattr(g, &a2));
  EXPECT_EQ(12u, a2.size);
  EXPECT_GT(Nanos(a2.mtime), Nanos(a1.mtime));
  EXPECT_GT(Nanos(a2.ctime), Nanos(a1.ctime));
  ASSERT_EQ(NFS3_OK, n.Read(g, 0, 100, &data));
  EXPECT_EQ("hello, world", data);

  // An overwrite in place (same size).
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  ASSERT_EQ(5, ::pwrite(fd, "HELLO", 5, 0));
  fattr3 a3{};
  ASSERT_EQ(NFS3_OK, n.Getattr(g, &a3));
  EXPECT_EQ(12u, a3.size);
  EXPECT_GT(Nanos(a3.mtime), Nanos(a2.mtime));
  ASSERT_EQ(NFS3_OK, n.Read(g, 0, 100, &data));
  EXPECT_EQ("HELLO, world", data);
  ASSERT_EQ(0, ::close(fd));

  // chmod / truncate through the mount.
  ASSERT_EQ(0, ::chmod(path.c_str(), 0751));
  ASSERT_EQ(NFS3_OK, n.Getattr(g, &a3));
  EXPECT_EQ(0751u, a3.mode & 07777);
  ASSERT_EQ(0, ::truncate(path.c_str(), 2));
  ASSERT_EQ(NFS3_OK, n.Getattr(g, &a3));
  EXPECT_EQ(2u, a3.size);

  // And libnfs (LOOKUP + GETATTR by path) agrees.
  NfsMount m;
  ASSERT_EQ(0, m.Mount(d)) << Err(m);
  struct nfs_stat_64 st {};
  ASSERT_EQ(0, nfs_stat64(m.get(), "/g", &st));
  EXPECT_EQ(2u, st.nfs_size);
  EXPECT_EQ(0751u, st.nfs_mode & 07777);
  EXPECT_EQ("HE", NfsGet(m, "/g").value_or("?"));

  // Names made / removed / renamed through the mount.
  ASSERT_TRUE(PosixPut(mnt + "/from_mount", "m"));
  EXPECT_EQ(NFS3_OK, n.Lookup(root, "from_mount"));
  ASSERT_EQ(
      0, ::rename((mnt + "/from_mount").c_str(), (mnt + "/renamed").c_str()));
  EXPECT_EQ(NFS3ERR_NOENT, n.Lookup(root, "from_mount"));
  EXPECT_EQ(NFS3_OK, n.Lookup(root, "renamed"));
  ASSERT_EQ(0, ::unlink((mnt + "/renamed").c_str()));
  EXPECT_EQ(NFS3ERR_NOENT, n.Lookup(root, "renamed"));
}

// ===================================================================
// 6. Several clients at once
// ===================================================================

TEST(NfsClients, TwoClientsWriteConcurrently) {
  NfsDaemon d;
  ASSERT_TRUE(d.Start());
  constexpr int kFiles = 40;
  constexpr size_t kSize = 200000;  // several WRITE calls per file
  NfsMount a, b;
  ASSERT_EQ(0, a.Mount(d)) << Err(a);
  ASSERT_EQ(0, b.Mount(d)) << Err(b);
  ASSERT_EQ(0, nfs_mkdir(a.get(), "/shared"));

  std::atomic<int> errors{0};
  auto writer = [&](NfsMount* m, char tag) {
    for (int i = 0; i < kFiles; ++i) {
      std::string path = std::string("/shared/") + tag + std::to_string(i);
      if (NfsPut(*m, path, Pattern(kSize, tag * 1000 + i)) != 0) ++errors;
    }
  };
  std::thread ta(writer, &a, 'a');
  std::thread tb(writer, &b, 'b');
  ta.join();
  tb.join();
  ASSERT_EQ(0, errors.load());

  // Each client sees every file of both, with the right bytes.
  for (NfsMount* m : {&a, &b}) {
    struct nfsdir* nd = nullptr;
    ASSERT_EQ(0, nfs_opendir(m->get(), "/shared", &nd)) << Err(*m);
    std::set<std::string> names;
    while (struct nfsdirent* e = nfs_readdir(m->get(), nd)) {
      if (std::string(e->name) != "." && std::string(e->name) != "..") {
        names.insert(e->name);
        EXPECT_EQ(kSize, e->size) << e->name;
      }
    }
    nfs_closedir(m->get(), nd);
    EXPECT_EQ(static_cast<size_t>(2 * kFiles), names.size());
    for (char tag : {'a', 'b'}) {
      for (int i = 0; i < kFiles; i += 7) {
        std::string path = std::string("/shared/") + tag + std::to_string(i);
        EXPECT_TRUE(NfsGet(*m, path) == Pattern(kSize, tag * 1000 + i)) << path;
      }
    }
  }
  // Concurrent writers into the same directory, now with renames and
  // removes racing in both clients.
  auto churn = [&](NfsMount* m, char tag) {
    for (int i = 0; i < kFiles; ++i) {
      std::string from = std::string("/shared/") + tag + std::to_string(i);
      std::string to = from + ".done";
      if (nfs_rename(m->get(), from.c_str(), to.c_str()) != 0) ++errors;
      if (i % 2 == 0 && nfs_unlink(m->get(), to.c_str()) != 0) ++errors;
    }
  };
  std::thread ca(churn, &a, 'a');
  std::thread cb(churn, &b, 'b');
  ca.join();
  cb.join();
  EXPECT_EQ(0, errors.load());
  struct nfs_stat_64 st {};
  for (NfsMount* m : {&a, &b}) {
    for (char tag : {'a', 'b'}) {
      for (int i = 0; i < kFiles; ++i) {
        std::string base = std::string("/shared/") + tag + std::to_string(i);
        EXPECT_EQ(-ENOENT, nfs_stat64(m->get(), base.c_str(), &st)) << base;
        int want = i % 2 == 0 ? -ENOENT : 0;
        EXPECT_EQ(want, nfs_stat64(m->get(), (base + ".done").c_str(), &st))
            << base;
      }
    }
  }
}

}  // namespace
}  // namespace cfs_nfs_test
