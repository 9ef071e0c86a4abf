// nfs_bench: NFSv3 workloads driven through libnfs (a user-space client that
// keeps several requests in flight on one TCP connection), for
// scripts/bench_nfs.sh to run against concordfs and NFS-Ganesha side by side.
//
//   nfs_bench [options] nfs://HOST/EXPORT?version=3&nfsport=N&mountport=M
//
// Each workload prints one JSON object per line on stdout:
//   {"name": "seqwrite", "value": 812.3, "unit": "MiB/s"}
// Everything it creates lives in one directory, /nfs-bench-PID in the export,
// removed at the end. Any NFS error ends the run with exit status 1 and a
// message naming the call; bad arguments exit 2.
//
// What goes over the wire: writes are UNSTABLE (libnfs's default) and the
// timed write workloads end with one COMMIT (nfs_fsync); libnfs's page cache,
// read-ahead and directory cache are off, so every read and every listing is
// answered by the server. Path-based calls (create, stat, unlink) make libnfs
// LOOKUP the parent directory first, the same for every server.
#include <fcntl.h>
#include <poll.h>
#include <sys/time.h>
#include <unistd.h>
// libnfs.h needs struct timeval declared first.
#include <nfsc/libnfs.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

constexpr uint64_t kMiB = 1024 * 1024;
constexpr uint64_t kPage = 4096;  // random I/O size and stamp interval
constexpr unsigned char kFill = 0x5a;

const char* const kWorkloads[] = {"seqwrite",  "seqread", "randread",
                                  "randwrite", "meta",    "readdirplus"};

struct Options {
  std::string url;
  uint64_t size_mib = 1024;    // data file size
  uint64_t block_kib = 1024;   // sequential I/O size
  int depth = 16;              // requests in flight
  uint64_t rand_ops = 100000;  // per random workload, at most
  double rand_seconds = 3;     // per random workload, at most (then drain)
  uint64_t files = 10000;      // create/getattr/remove
  uint64_t dir_entries = 10000;
  int timeout_s = 60;  // no reply for this long = error
  std::set<std::string> workloads;
  bool probe = false;
};

[[noreturn]] void Fail(const std::string& what, int err, const char* detail) {
  std::fprintf(stderr, "nfs_bench: %s failed: %s%s%s\n", what.c_str(),
               std::strerror(err < 0 ? -err : err), detail ? ": " : "",
               detail ? detail : "");
  std::exit(1);
}

double Since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
      .count();
}

void Report(const char* name, double value, const char* unit) {
  std::printf("{\"name\": \"%s\", \"value\": %.1f, \"unit\": \"%s\"}\n", name,
              value, unit);
  std::fflush(stdout);
}

// Every 4 KiB boundary of the data file holds its own offset (8 bytes, host
// order); all other bytes are kFill. Reads check it, so a short or misplaced
// reply is an error, not a fast result.
void Stamp(unsigned char* buf, uint64_t offset, uint64_t len) {
  for (uint64_t at = 0; at + sizeof(uint64_t) <= len; at += kPage) {
    uint64_t value = offset + at;
    std::memcpy(buf + at, &value, sizeof value);
  }
}

bool StampsMatch(const unsigned char* buf, uint64_t offset, uint64_t len) {
  for (uint64_t at = 0; at + sizeof(uint64_t) <= len; at += kPage) {
    uint64_t value;
    std::memcpy(&value, buf + at, sizeof value);
    if (value != offset + at || buf[at + sizeof value] != kFill) return false;
  }
  return true;
}

// One mounted libnfs context and the poll loop that drives its async calls.
class Client {
 public:
  explicit Client(const Options& opt) : timeout_s_(opt.timeout_s) {
    nfs_ = nfs_init_context();
    if (!nfs_) Fail("nfs_init_context", ENOMEM, nullptr);
    nfs_url* url = nfs_parse_url_dir(nfs_, opt.url.c_str());
    if (!url) Fail("parsing URL " + opt.url, EINVAL, nfs_get_error(nfs_));
    nfs_set_pagecache(nfs_, 0);
    nfs_set_readahead(nfs_, 0);
    nfs_set_dircache(nfs_, 0);
    nfs_set_autoreconnect(nfs_, 0);
    nfs_set_timeout(nfs_, opt.timeout_s * 1000);
    int rc = nfs_mount(nfs_, url->server, url->path);
    if (rc != 0) {
      Fail(std::string("mount of ") + url->server + ":" + url->path, rc,
           nfs_get_error(nfs_));
    }
    nfs_destroy_url(url);
  }
  ~Client() {
    nfs_umount(nfs_);  // a courtesy UMNT; its result does not matter
    nfs_destroy_context(nfs_);
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  nfs_context* ctx() { return nfs_; }

  // Waits for socket events once (at most 1 s) and lets libnfs run the
  // callbacks of the replies that arrived (and its own timeouts). Returns
  // whether the socket had events.
  bool ServiceOnce() {
    pollfd p{nfs_get_fd(nfs_), static_cast<short>(nfs_which_events(nfs_)), 0};
    int n = poll(&p, 1, 1000);
    if (n < 0 && errno != EINTR) Fail("poll", errno, nullptr);
    if (nfs_service(nfs_, n > 0 ? p.revents : 0) < 0) {
      Fail("nfs_service", EIO, nfs_get_error(nfs_));
    }
    return n > 0;
  }

  int timeout_s() const { return timeout_s_; }

  void Check(const std::string& what, int rc) {
    if (rc < 0) Fail(what, rc, nfs_get_error(nfs_));
  }

 private:
  nfs_context* nfs_;
  int timeout_s_;
};

// Runs `total` operations with at most `depth` in flight. `issue(i, slot,
// cb, priv)` queues operation i with libnfs, passing cb and priv as the
// callback and its private data, and returns libnfs's queueing result;
// `done(i, slot, status, data)` checks a successful reply. `slot` (below
// depth) identifies a buffer the caller may own for the operation's lifetime.
// With `max_seconds` > 0 no operation is started after that many seconds.
// Returns the number of operations done (all started ones have finished).
class Pipeline {
 public:
  using Issue =
      std::function<int(uint64_t index, int slot, nfs_cb cb, void* priv)>;
  using Done =
      std::function<void(uint64_t index, int slot, int status, void* data)>;

  static uint64_t Run(Client& client, const std::string& what, uint64_t total,
                      int depth, const Issue& issue, const Done& done,
                      double max_seconds = 0) {
    auto t0 = std::chrono::steady_clock::now();
    auto last_event = t0;
    Pipeline p(what, done);
    p.slots_.resize(depth);
    std::vector<int> free_slots;
    for (int s = depth - 1; s >= 0; --s) free_slots.push_back(s);
    uint64_t next = 0;
    while (p.completed_ < total) {
      for (int s : p.released_) free_slots.push_back(s);
      p.released_.clear();
      if (max_seconds > 0 && next < total && Since(t0) > max_seconds) {
        total = next;
        continue;
      }
      while (next < total && !free_slots.empty()) {
        int s = free_slots.back();
        free_slots.pop_back();
        p.slots_[s] = Slot{&p, next, s};
        client.Check(what, issue(next, s, &Pipeline::Callback, &p.slots_[s]));
        ++next;
      }
      if (client.ServiceOnce()) {
        last_event = std::chrono::steady_clock::now();
      } else if (Since(last_event) > client.timeout_s() + 5) {
        Fail(what, ETIMEDOUT, "the server stopped answering");
      }
    }
    return p.completed_;
  }

 private:
  struct Slot {
    Pipeline* owner;
    uint64_t index;
    int id;
  };

  Pipeline(const std::string& what, const Done& done)
      : what_(what), done_(done) {}

  static void Callback(int status, nfs_context*, void* data, void* priv) {
    Slot* slot = static_cast<Slot*>(priv);
    Pipeline* p = slot->owner;
    if (status < 0) Fail(p->what_, status, static_cast<const char*>(data));
    p->done_(slot->index, slot->id, status, data);
    ++p->completed_;
    p->released_.push_back(slot->id);
  }

  std::string what_;
  const Done& done_;
  std::vector<Slot> slots_;
  std::vector<int> released_;
  uint64_t completed_ = 0;
};

class Bench {
 public:
  explicit Bench(const Options& opt)
      : opt_(opt), dir_("/nfs-bench-" + std::to_string(getpid())) {}

  void Run() {
    Client c(opt_);
    std::fprintf(stderr, "nfs_bench: server rtmax %llu, wtmax %llu bytes\n",
                 static_cast<unsigned long long>(nfs_get_readmax(c.ctx())),
                 static_cast<unsigned long long>(nfs_get_writemax(c.ctx())));
    c.Check("mkdir " + dir_, nfs_mkdir(c.ctx(), dir_.c_str()));
    bool need_data = Want("seqread") || Want("randread") || Want("randwrite");
    if (Want("seqwrite") || need_data) SeqWrite(Want("seqwrite"));
    if (Want("seqread")) SeqRead();
    if (Want("randread")) Random(false);
    if (Want("randwrite")) Random(true);
    if (Want("seqwrite") || need_data) {
      c.Check("unlink " + DataPath(), nfs_unlink(c.ctx(), DataPath().c_str()));
    }
    if (Want("meta")) Meta();
    if (Want("readdirplus")) ReaddirPlus();
    c.Check("rmdir " + dir_, nfs_rmdir(c.ctx(), dir_.c_str()));
  }

 private:
  bool Want(const char* w) const { return opt_.workloads.count(w) != 0; }
  std::string DataPath() const { return dir_ + "/data"; }
  uint64_t Size() const { return opt_.size_mib * kMiB; }

  // Sequential write of the whole data file, then one COMMIT.
  void SeqWrite(bool report) {
    Client c(opt_);
    nfsfh* fh = nullptr;
    c.Check("create " + DataPath(),
            nfs_creat(c.ctx(), DataPath().c_str(), 0644, &fh));
    uint64_t io =
        std::min<uint64_t>(opt_.block_kib * 1024, nfs_get_writemax(c.ctx()));
    std::vector<std::vector<unsigned char>> bufs(
        opt_.depth, std::vector<unsigned char>(io, kFill));
    auto t0 = std::chrono::steady_clock::now();
    Pipeline::Run(
        c, "write", (Size() + io - 1) / io, opt_.depth,
        [&](uint64_t i, int s, nfs_cb cb, void* priv) {
          uint64_t len = std::min(io, Size() - i * io);
          Stamp(bufs[s].data(), i * io, len);
          return nfs_pwrite_async(c.ctx(), fh, i * io, len, bufs[s].data(), cb,
                                  priv);
        },
        [&](uint64_t i, int, int status, void*) {
          if (static_cast<uint64_t>(status) != std::min(io, Size() - i * io)) {
            Fail("write", EIO, "short write");
          }
        });
    c.Check("commit (fsync)", nfs_fsync(c.ctx(), fh));
    double secs = Since(t0);
    c.Check("close", nfs_close(c.ctx(), fh));
    if (report) Report("seqwrite", Size() / double(kMiB) / secs, "MiB/s");
  }

  void SeqRead() {
    Client c(opt_);
    nfsfh* fh = nullptr;
    c.Check("open " + DataPath(),
            nfs_open(c.ctx(), DataPath().c_str(), O_RDONLY, &fh));
    nfs_stat_64 st;
    c.Check("fstat", nfs_fstat64(c.ctx(), fh, &st));
    if (st.nfs_size != Size()) Fail("fstat", EIO, "data file has wrong size");
    uint64_t io =
        std::min<uint64_t>(opt_.block_kib * 1024, nfs_get_readmax(c.ctx()));
    uint64_t bytes = 0;
    auto t0 = std::chrono::steady_clock::now();
    Pipeline::Run(
        c, "read", (Size() + io - 1) / io, opt_.depth,
        [&](uint64_t i, int, nfs_cb cb, void* priv) {
          return nfs_pread_async(c.ctx(), fh, i * io,
                                 std::min(io, Size() - i * io), cb, priv);
        },
        [&](uint64_t i, int, int status, void* data) {
          uint64_t want = std::min(io, Size() - i * io);
          if (static_cast<uint64_t>(status) != want ||
              !StampsMatch(static_cast<unsigned char*>(data), i * io, want)) {
            Fail("read", EIO, "short read or wrong data");
          }
          bytes += status;
        });
    double secs = Since(t0);
    c.Check("close", nfs_close(c.ctx(), fh));
    Report("seqread", bytes / double(kMiB) / secs, "MiB/s");
  }

  // 4 KiB reads or writes at random page-aligned offsets of the data file,
  // rand_ops of them or as many as start within rand_seconds; the writes end
  // with one COMMIT, inside the timed part.
  void Random(bool write) {
    Client c(opt_);
    nfsfh* fh = nullptr;
    c.Check("open " + DataPath(), nfs_open(c.ctx(), DataPath().c_str(),
                                           write ? O_RDWR : O_RDONLY, &fh));
    std::mt19937_64 rng(write ? 2 : 1);
    std::vector<uint64_t> offsets(opt_.rand_ops);
    for (uint64_t& o : offsets) o = rng() % (Size() / kPage) * kPage;
    std::vector<std::vector<unsigned char>> bufs(
        opt_.depth, std::vector<unsigned char>(kPage, kFill));
    auto t0 = std::chrono::steady_clock::now();
    uint64_t ops = Pipeline::Run(
        c, write ? "random write" : "random read", offsets.size(), opt_.depth,
        [&](uint64_t i, int s, nfs_cb cb, void* priv) {
          if (!write) {
            return nfs_pread_async(c.ctx(), fh, offsets[i], kPage, cb, priv);
          }
          Stamp(bufs[s].data(), offsets[i], kPage);
          return nfs_pwrite_async(c.ctx(), fh, offsets[i], kPage,
                                  bufs[s].data(), cb, priv);
        },
        [&](uint64_t i, int, int status, void* data) {
          if (static_cast<uint64_t>(status) != kPage ||
              (!write && !StampsMatch(static_cast<unsigned char*>(data),
                                      offsets[i], kPage))) {
            Fail(write ? "random write" : "random read", EIO,
                 "short transfer or wrong data");
          }
        },
        opt_.rand_seconds);
    if (write) c.Check("commit (fsync)", nfs_fsync(c.ctx(), fh));
    double secs = Since(t0);
    c.Check("close", nfs_close(c.ctx(), fh));
    Report(write ? "randwrite4k" : "randread4k", ops / secs, "ops/s");
  }

  // Creates `names` (empty files) with several CREATEs in flight.
  static void CreateAll(Client& c, const std::vector<std::string>& names,
                        int depth) {
    std::vector<nfsfh*> handles(names.size());
    Pipeline::Run(
        c, "create", names.size(), depth,
        [&](uint64_t i, int, nfs_cb cb, void* priv) {
          return nfs_creat_async(c.ctx(), names[i].c_str(), 0644, cb, priv);
        },
        [&](uint64_t i, int, int, void* data) {
          handles[i] = static_cast<nfsfh*>(data);
        });
    // An NFSv3 close sends nothing: it only frees libnfs's handle.
    for (nfsfh* fh : handles) c.Check("close", nfs_close(c.ctx(), fh));
  }

  static void RemoveAll(Client& c, const std::vector<std::string>& names,
                        int depth) {
    Pipeline::Run(
        c, "remove", names.size(), depth,
        [&](uint64_t i, int, nfs_cb cb, void* priv) {
          return nfs_unlink_async(c.ctx(), names[i].c_str(), cb, priv);
        },
        [](uint64_t, int, int, void*) {});
  }

  static std::vector<std::string> Names(const std::string& dir, uint64_t n) {
    std::vector<std::string> names;
    for (uint64_t i = 0; i < n; ++i) {
      names.push_back(dir + "/f" + std::to_string(i));
    }
    return names;
  }

  // CREATE, then GETATTR, then REMOVE of every file, each phase timed on its
  // own; "meta" is files per second over the three phases together.
  void Meta() {
    Client c(opt_);
    std::string dir = dir_ + "/meta";
    c.Check("mkdir " + dir, nfs_mkdir(c.ctx(), dir.c_str()));
    std::vector<std::string> names = Names(dir, opt_.files);
    auto t0 = std::chrono::steady_clock::now();
    CreateAll(c, names, opt_.depth);
    double create = Since(t0);
    t0 = std::chrono::steady_clock::now();
    Pipeline::Run(
        c, "getattr", names.size(), opt_.depth,
        [&](uint64_t i, int, nfs_cb cb, void* priv) {
          return nfs_stat64_async(c.ctx(), names[i].c_str(), cb, priv);
        },
        [](uint64_t, int, int, void* data) {
          if (static_cast<nfs_stat_64*>(data)->nfs_size != 0) {
            Fail("getattr", EIO, "new file is not empty");
          }
        });
    double getattr = Since(t0);
    t0 = std::chrono::steady_clock::now();
    RemoveAll(c, names, opt_.depth);
    double remove = Since(t0);
    c.Check("rmdir " + dir, nfs_rmdir(c.ctx(), dir.c_str()));
    double n = names.size();
    Report("create", n / create, "files/s");
    Report("getattr", n / getattr, "files/s");
    Report("remove", n / remove, "files/s");
    Report("meta", n / (create + getattr + remove), "files/s");
  }

  // A full listing (opendir: READDIRPLUS until EOF) of a directory whose
  // entries were created beforehand, untimed, by another connection.
  void ReaddirPlus() {
    std::string dir = dir_ + "/list";
    std::vector<std::string> names = Names(dir, opt_.dir_entries);
    {
      Client c(opt_);
      c.Check("mkdir " + dir, nfs_mkdir(c.ctx(), dir.c_str()));
      CreateAll(c, names, opt_.depth);
    }
    Client c(opt_);
    auto t0 = std::chrono::steady_clock::now();
    nfsdir* d = nullptr;
    c.Check("opendir " + dir, nfs_opendir(c.ctx(), dir.c_str(), &d));
    uint64_t entries = 0;
    while (nfsdirent* e = nfs_readdir(c.ctx(), d)) {
      if (std::strcmp(e->name, ".") != 0 && std::strcmp(e->name, "..") != 0) {
        ++entries;
      }
    }
    double secs = Since(t0);
    nfs_closedir(c.ctx(), d);
    if (entries != names.size()) {
      Fail("readdirplus", EIO, "listing has the wrong number of entries");
    }
    Report("readdirplus", entries / secs, "entries/s");
    RemoveAll(c, names, opt_.depth);
    c.Check("rmdir " + dir, nfs_rmdir(c.ctx(), dir.c_str()));
  }

  const Options& opt_;
  std::string dir_;
};

[[noreturn]] void Usage(int status) {
  std::fprintf(
      status ? stderr : stdout,
      "usage: nfs_bench [options] nfs://HOST/EXPORT?version=3&nfsport=N"
      "&mountport=M\n"
      "  --workloads LIST   comma-separated, from seqwrite,seqread,randread,"
      "randwrite,meta,readdirplus (default: all)\n"
      "  --size-mib N       data file size for the I/O workloads (1024)\n"
      "  --block-kib N      sequential I/O size, capped by the server's "
      "rtmax/wtmax (1024)\n"
      "  --queue-depth N    requests in flight (16)\n"
      "  --rand-ops N       operations per random workload, at most "
      "(100000)\n"
      "  --rand-seconds S   seconds per random workload, at most (3)\n"
      "  --files N          files created, stat'ed, removed by meta (10000)\n"
      "  --dir-entries N    directory size for readdirplus (10000)\n"
      "  --timeout S        seconds without a reply before giving up (60)\n"
      "  --probe            only mount and GETATTR the root, then exit 0\n");
  std::exit(status);
}

uint64_t Number(const char* flag, const char* text) {
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(text, &end, 10);
  if (errno || !*text || *end || v == 0) {
    std::fprintf(stderr, "nfs_bench: %s needs a positive number, not '%s'\n",
                 flag, text);
    Usage(2);
  }
  return v;
}

Options Parse(int argc, char** argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") Usage(0);
    if (a == "--probe") {
      opt.probe = true;
      continue;
    }
    if (a.rfind("--", 0) != 0) {
      if (!opt.url.empty()) Usage(2);
      opt.url = a;
      continue;
    }
    if (i + 1 >= argc) Usage(2);
    const char* v = argv[++i];
    if (a == "--workloads") {
      std::stringstream ss(v);
      for (std::string w; std::getline(ss, w, ',');) {
        if (std::find(std::begin(kWorkloads), std::end(kWorkloads), w) ==
            std::end(kWorkloads)) {
          std::fprintf(stderr, "nfs_bench: unknown workload '%s'\n", w.c_str());
          Usage(2);
        }
        opt.workloads.insert(w);
      }
    } else if (a == "--size-mib") {
      opt.size_mib = Number(a.c_str(), v);
    } else if (a == "--block-kib") {
      opt.block_kib = Number(a.c_str(), v);
    } else if (a == "--queue-depth") {
      opt.depth = std::min<uint64_t>(Number(a.c_str(), v), 1024);
    } else if (a == "--rand-ops") {
      opt.rand_ops = Number(a.c_str(), v);
    } else if (a == "--rand-seconds") {
      opt.rand_seconds = Number(a.c_str(), v);
    } else if (a == "--files") {
      opt.files = Number(a.c_str(), v);
    } else if (a == "--dir-entries") {
      opt.dir_entries = Number(a.c_str(), v);
    } else if (a == "--timeout") {
      opt.timeout_s = std::min<uint64_t>(Number(a.c_str(), v), 3600);
    } else {
      std::fprintf(stderr, "nfs_bench: unknown option %s\n", a.c_str());
      Usage(2);
    }
  }
  if (opt.url.empty()) Usage(2);
  if (opt.workloads.empty()) {
    opt.workloads.insert(std::begin(kWorkloads), std::end(kWorkloads));
  }
  return opt;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt = Parse(argc, argv);
  if (opt.probe) {
    Client c(opt);
    nfs_stat_64 st;
    c.Check("getattr /", nfs_stat64(c.ctx(), "/", &st));
    return 0;
  }
  Bench(opt).Run();
  return 0;
}
